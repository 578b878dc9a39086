/* Exact syscalls for tests/kernel/test_file_ops.py: each variant called directly (syscall(2)),
 * a success and a failure each, relative, dir-fd, fd and AT_EMPTY_PATH forms, odd names.
 *     file_ops DIR attr    chmod/chown families
 *     file_ops DIR names   link/symlink, mkdir/mknod, truncate families
 *     file_ops DIR flags   opens with flag bits libc may not name (O_LARGEFILE, O_TMPFILE...)
 * Prints one line per call: "<name> <return> <errno number>", for the test to compare. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

static int names(void)
{
	int fd = open("plain", O_CREAT | O_RDWR, 0600);
	int dir = open(".", O_RDONLY | O_DIRECTORY);

	if (fd < 0 || dir < 0)
		return 1;
	note("link", syscall(SYS_link, "plain", "hard"));
	note("link-missing", syscall(SYS_link, "missing", "x"));
	note("linkat-follow", syscall(SYS_linkat, dir, "plain", AT_FDCWD, "hard2", AT_SYMLINK_FOLLOW));
	note("linkat-empty", syscall(SYS_linkat, fd, "", dir, "hard3", AT_EMPTY_PATH));
	note("linkat-exists", syscall(SYS_linkat, dir, "plain", dir, "hard", 0));
	note("symlink", syscall(SYS_symlink, "../not/resolved", "sl"));
	note("symlink-exists", syscall(SYS_symlink, "x", "sl"));
	note("symlinkat-odd", syscall(SYS_symlinkat, "plain", dir, ODD));
	note("mkdir", syscall(SYS_mkdir, "d", 0750));
	note("mkdir-exists", syscall(SYS_mkdir, "d", 0700));
	note("mkdirat", syscall(SYS_mkdirat, dir, "d2", 01777));
	note("mknod-fifo", syscall(SYS_mknod, "fifo", S_IFIFO | 0640, 0));
	note("mknod-char", syscall(SYS_mknod, "null2", S_IFCHR | 0600, makedev(1, 3)));
	note("mknodat-reg", syscall(SYS_mknodat, dir, "reg", 0600, 0));
	note("mknodat-block", syscall(SYS_mknodat, dir, "blk", S_IFBLK | 0600, makedev(259, 70000)));
	note("mknodat-missing", syscall(SYS_mknodat, dir, "missing/x", S_IFIFO | 0600, 0));
	note("truncate", syscall(SYS_truncate, "plain", 100));
	note("truncate-missing", syscall(SYS_truncate, "missing", 0));
	note("ftruncate", syscall(SYS_ftruncate, fd, 7));
	note("ftruncate-badfd", syscall(SYS_ftruncate, 999, 0));
	return 0;
}

static int flags(void)
{
	note("openat-largefile", syscall(SYS_openat, AT_FDCWD, "plain", O_CREAT | O_RDWR | 0x8000,
					 0600));
	note("openat-tmpfile", syscall(SYS_openat, AT_FDCWD, ".", O_TMPFILE | O_RDWR, 0600));
	note("openat-sync", syscall(SYS_openat, AT_FDCWD, "plain", O_WRONLY | O_SYNC | O_NOATIME));
	note("openat-unknown", syscall(SYS_openat, AT_FDCWD, "plain", O_RDONLY | 0x40000000));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 || chdir(argv[1]))
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(argv[2], "attr"))
		return attr();
	if (!strcmp(argv[2], "names"))
		return names();
	if (!strcmp(argv[2], "flags"))
		return flags();
	return 2;
}
