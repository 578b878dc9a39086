/* Exact syscalls for tests/kernel/test_file_ops.py: each variant called directly (syscall(2)),
 * a success and a failure each, relative, dir-fd, fd and AT_EMPTY_PATH forms, odd names.
 *     file_ops DIR attr    chmod/chown families
 * Prints one line per call: "<name> <return> <errno number>", for the test to compare. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#define ODD "odd name\n\xff.txt"

static void note(const char *what, long ret)
{
	printf("%s %ld %d\n", what, ret, ret < 0 ? errno : 0);
}

static int attr(void)
{
	int fd = open("plain", O_CREAT | O_RDWR, 0600);
	int odd = open(ODD, O_CREAT | O_RDWR, 0600);
	int dir = open(".", O_RDONLY | O_DIRECTORY);

	if (fd < 0 || odd < 0 || dir < 0 || symlink("plain", "lnk"))
		return 1;
	note("chmod", syscall(SYS_chmod, "plain", 0640));
	note("chmod-missing", syscall(SYS_chmod, "missing", 0600));
	note("fchmod", syscall(SYS_fchmod, fd, 04604));
	note("fchmod-badfd", syscall(SYS_fchmod, 999, 0600));
	note("fchmodat-odd", syscall(SYS_fchmodat, AT_FDCWD, ODD, 0611));
	note("fchmodat-dirfd", syscall(SYS_fchmodat, dir, "plain", 0620));
	note("fchmodat2-nofollow", syscall(SYS_fchmodat2, dir, "lnk", 0600, AT_SYMLINK_NOFOLLOW));
	note("fchmodat2-empty", syscall(SYS_fchmodat2, fd, "", 0644, AT_EMPTY_PATH));
	note("chown", syscall(SYS_chown, "plain", 65534, -1));
	note("chown-missing", syscall(SYS_chown, "missing", 0, 0));
	note("fchown", syscall(SYS_fchown, fd, -1, 65534));
	note("fchown-badfd", syscall(SYS_fchown, 999, 0, 0));
	note("lchown", syscall(SYS_lchown, "lnk", 65534, 65534));
	note("fchownat-nofollow", syscall(SYS_fchownat, dir, "plain", 0, 0, AT_SYMLINK_NOFOLLOW));
	note("fchownat-empty", syscall(SYS_fchownat, odd, "", 0, -1, AT_EMPTY_PATH));
	note("fchownat-badflag", syscall(SYS_fchownat, dir, "plain", 0, 0, 0x8000000));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 || chdir(argv[1]))
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(argv[2], "attr"))
		return attr();
	return 2;
}
