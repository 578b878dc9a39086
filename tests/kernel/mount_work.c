/* Namespace and mount calls, each by its raw number, success and failure path, in a known
 * order, inside a mount namespace of its own (the host's mounts are never touched). argv[1]:
 * an empty directory to mount on. Prints its pid and its child's at the end. Run as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
	const char *dir = argv[1];
	char old[4096];
	int fd, status;
	pid_t child;

	if (argc < 2)
		return 2;
	snprintf(old, sizeof(old), "%s/old", dir);
	expect(syscall(SYS_unshare, CLONE_NEWNS | CLONE_NEWUTS), 0, "unshare");
	expect(syscall(SYS_unshare, 1), EINVAL, "unshare bad flag");
	expect(syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "private");
	expect(syscall(SYS_mount, "tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m"), 0,
	       "mount tmpfs");
	expect(syscall(SYS_mount, "tmpfs", dir, "nosuchfs", 0, NULL), ENODEV, "mount bad type");
	expect(chdir(dir), 0, "chdir");
	expect(mkdir("a", 0755), 0, "mkdir a");
	expect(mkdir("b", 0755), 0, "mkdir b");
	expect(syscall(SYS_mount, "a", "b", NULL, MS_BIND, NULL), 0, "bind");
	expect(syscall(SYS_umount2, "b", MNT_DETACH), 0, "umount b");
	expect(syscall(SYS_umount2, "a", 0), EINVAL, "umount not a mount");
	fd = open("/proc/self/ns/uts", O_RDONLY);
	expect(fd, 0, "open ns");
	expect(syscall(SYS_setns, fd, CLONE_NEWUTS), 0, "setns");
	expect(syscall(SYS_setns, 1, 0), EINVAL, "setns not a namespace");
	expect(mkdir("old", 0755), 0, "mkdir old");
	child = fork();
	if (child == 0) {
		/* A namespace of its own: pivot_root moves every process of the namespace. */
		expect(syscall(SYS_unshare, CLONE_NEWNS), 0, "unshare child");
		expect(syscall(SYS_chroot, "/nonexistent"), ENOENT, "chroot missing");
		expect(syscall(SYS_pivot_root, dir, old), 0, "pivot_root");
		expect(syscall(SYS_chroot, "/"), 0, "chroot");
		_exit(0);
	}
	waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	expect(syscall(SYS_pivot_root, "/nonexistent", "/nonexistent/old"), ENOENT,
	       "pivot_root missing");
	expect(chdir("/"), 0, "chdir /");
	expect(syscall(SYS_umount2, dir, MNT_DETACH), 0, "umount dir");
	printf("%d %d\n", getpid(), child);
	return 0;
}
