/* Credential syscalls, each by its raw number (no libc wrapper broadcasting to threads), the
 * success and the failure path, in a known order; prints its pid. Run as root.
 * argv[1], when given: a set-uid-root binary to exec as uid 65534 at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static void expect(long ret, int want_errno, const char *what)
{
	if ((want_errno && (ret != -1 || errno != want_errno)) || (!want_errno && ret < 0)) {
		fprintf(stderr, "%s: ret %ld errno %d\n", what, ret, errno);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];

	printf("%d\n", getpid());
	fflush(stdout);
	expect(syscall(SYS_setresgid, -1, 65534, -1), 0, "setresgid");
	expect(syscall(SYS_setresuid, -1, 65534, -1), 0, "setresuid");
	expect(syscall(SYS_setuid, 12345), EPERM, "setuid 12345");         /* euid 65534: refused */
	expect(syscall(SYS_setreuid, -1, 0), 0, "setreuid");                /* back to euid 0 */
	expect(syscall(SYS_setregid, 0, 0), 0, "setregid");
	expect(syscall(SYS_setgid, 65534), 0, "setgid");
	syscall(SYS_setfsuid, 4242);                                       /* returns the old */
	syscall(SYS_setfsgid, 4343);
	expect(syscall(SYS_capget, &hdr, data), 0, "capget");
	data[0].effective &= ~(1u << CAP_SYS_BOOT);
	expect(syscall(SYS_capset, &hdr, data), 0, "capset");
	hdr.version = 0x12345678;
	expect(syscall(SYS_capset, &hdr, data), EINVAL, "capset bad version");
	expect(syscall(SYS_setresuid, 65534, 65534, 65534), 0, "setresuid all");
	expect(syscall(SYS_setuid, 0), EPERM, "setuid 0");
	expect(syscall(SYS_setresgid, 1, 2, 3), EPERM, "setresgid");
	if (argc > 1) {
		char *args[] = {argv[1], "-u", NULL};

		execv(argv[1], args);
		perror("execv");
		return 1;
	}
	return 0;
}
