/* memfd_create and userfaultfd by their raw numbers, success and failure (a name too long:
 * EINVAL; unknown flags: EINVAL); then /bin/true run from a memfd and from a deleted copy in
 * argv[1] (a directory), each through /proc/self/fd/N in a child. Prints its pid, then the
 * two children's. Run as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Copy /bin/true into fd. */
static void copy_true(int fd)
{
	int src = open("/bin/true", O_RDONLY);
	struct stat st;

	if (src < 0 || fstat(src, &st) || sendfile(fd, src, NULL, st.st_size) != st.st_size)
		exit(1);
	close(src);
}

/* Run the program in fd from /proc/self/fd/<fd> in a child; its pid. */
static pid_t run_from(int fd)
{
	char path[64];
	int status;
	pid_t child;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	child = fork();
	if (child == 0) {
		char *args[] = {path, NULL};

		execv(path, args);
		_exit(127);
	}
	waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		exit(1);
	return child;
}

static void expect(long ret, int want_errno, const char *what)
{
	if ((want_errno && (ret != -1 || errno != want_errno)) || (!want_errno && ret < 0)) {
		fprintf(stderr, "%s: ret %ld errno %d\n", what, ret, errno);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char long_name[300], copy[4096];
	pid_t from_memfd, from_deleted;
	int fd;

	printf("%d\n", getpid());
	fflush(stdout);
	fd = syscall(SYS_memfd_create, "em payload \xc3\xbc", 3);
	expect(fd, 0, "memfd_create");
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	expect(syscall(SYS_memfd_create, long_name, 1), EINVAL, "memfd_create long name");
	expect(syscall(SYS_userfaultfd, O_CLOEXEC), 0, "userfaultfd");
	expect(syscall(SYS_userfaultfd, 0x40), EINVAL, "userfaultfd bad flags");
	if (argc < 2)
		return 0;
	copy_true(fd);
	from_memfd = run_from(fd);
	snprintf(copy, sizeof(copy), "%s/deleted true", argv[1]);
	fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	expect(fd, 0, "create copy");
	copy_true(fd);
	close(fd);
	fd = open(copy, O_RDONLY);
	expect(fd, 0, "open copy");
	expect(unlink(copy), 0, "unlink copy");
	from_deleted = run_from(fd);
	printf("%d %d\n", from_memfd, from_deleted);
	return 0;
}
