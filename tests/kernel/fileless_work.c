/* memfd_create and userfaultfd by their raw numbers, success and failure (a name too long:
 * EINVAL; unknown flags: EINVAL). Prints its pid. Run as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void expect(long ret, int want_errno, const char *what)
{
	if ((want_errno && (ret != -1 || errno != want_errno)) || (!want_errno && ret < 0)) {
		fprintf(stderr, "%s: ret %ld errno %d\n", what, ret, errno);
		exit(1);
	}
}

int main(void)
{
	char long_name[300];

	printf("%d\n", getpid());
	fflush(stdout);
	expect(syscall(SYS_memfd_create, "em payload \xc3\xbc", 3), 0, "memfd_create");
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	expect(syscall(SYS_memfd_create, long_name, 1), EINVAL, "memfd_create long name");
	expect(syscall(SYS_userfaultfd, O_CLOEXEC), 0, "userfaultfd");
	expect(syscall(SYS_userfaultfd, 0x40), EINVAL, "userfaultfd bad flags");
	return 0;
}
