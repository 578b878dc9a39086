/* mmap and mprotect making memory executable, each call once and in this order, success and
 * failure (errno checked): in directory argv[1],
 *   1 mmap PROT_READ|PROT_EXEC of "payload ü.so" (MAP_PRIVATE, offset 4096)
 *   2 mmap PROT_READ|PROT_EXEC, MAP_SHARED of the same file opened write-only: EACCES
 *   3 mmap PROT_EXEC of fd 999: EBADF
 *   4 mmap PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS (RWX memory)
 *   5 mprotect PROT_READ|PROT_EXEC of anonymous read-write memory
 *   6 mprotect PROT_EXEC of an unmapped page: ENOMEM
 *   7 mprotect PROT_READ|PROT_EXEC of a read-only mapping of the file
 *   8 mmap PROT_READ|PROT_EXEC, MAP_SHARED of a memfd named "em code"
 *   9 mmap PROT_READ|PROT_EXEC of a deleted file "gone.bin"
 *  10 pkey_mprotect PROT_READ|PROT_EXEC (pkey -1: none) of anonymous read-write memory
 * with calls in between that must not be recorded (no PROT_EXEC). Prints its pid.
 *
 * With "span" as argv[2], instead, mprotect PROT_READ|PROT_EXEC over several regions:
 *   1 three pages: "lib/trusted.so" (a library to the test's monitor), anonymous read-write
 *     memory, "payload.bin" read-only
 *   2 ten pages of anonymous memory, read-write and read-only in turn (ten vmas) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096

static void expect(long ok, int want_errno, const char *what)
{
	if ((want_errno && (ok || errno != want_errno)) || (!want_errno && !ok)) {
		fprintf(stderr, "%s: errno %d\n", what, errno);
		exit(1);
	}
}

static int make_file(const char *dir, const char *name, char *path, size_t size)
{
	char buf[2 * PAGE];
	int fd;

	snprintf(path, size, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memset(buf, 0xc3, sizeof(buf)); /* ret */
	if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf))
		exit(1);
	return fd;
}

/* The regions of the "span" run, each made with MAP_FIXED inside one reservation. */
static int span(const char *dir)
{
	char lib[4096], payload[4096], sub[4096];
	int lfd, pfd, i;
	char *a, *b;

	snprintf(sub, sizeof(sub), "%s/lib", dir);
	if (mkdir(sub, 0755) && errno != EEXIST)
		return 1;
	lfd = make_file(sub, "trusted.so", lib, sizeof(lib));
	pfd = make_file(dir, "payload.bin", payload, sizeof(payload));
	a = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect(a != MAP_FAILED, 0, "reserve");
	expect(mmap(a, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, lfd, 0) == a, 0, "map lib");
	expect(mmap(a + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, pfd, 0) == a + 2 * PAGE,
	       0, "map payload");
	expect(mprotect(a, 3 * PAGE, PROT_READ | PROT_EXEC) == 0, 0, "1 mprotect lib+anon+file");
	b = mmap(NULL, 10 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect(b != MAP_FAILED, 0, "reserve ten");
	for (i = 1; i < 10; i += 2)
		expect(mprotect(b + i * PAGE, PAGE, PROT_READ) == 0, 0, "split (not recorded)");
	expect(mprotect(b, 10 * PAGE, PROT_READ | PROT_EXEC) == 0, 0, "2 mprotect ten vmas");
	printf("%lx %lx\n", (unsigned long)a, (unsigned long)b);
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096], gone[4096];
	void *p, *q;
	int fd, wfd, mfd, dfd;

	if (argc < 2)
		return 2;
	printf("%d\n", getpid());
	fflush(stdout);
	if (argc > 2 && !strcmp(argv[2], "span"))
		return span(argv[1]);
	fd = make_file(argv[1], "payload \xc3\xbc.so", path, sizeof(path));
	p = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, PAGE);
	expect(p != MAP_FAILED, 0, "1 mmap file");
	wfd = open(path, O_WRONLY);
	p = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, wfd, 0);
	expect(p != MAP_FAILED, EACCES, "2 mmap write-only fd");
	p = mmap(NULL, PAGE, PROT_EXEC, MAP_PRIVATE, 999, 0);
	expect(p != MAP_FAILED, EBADF, "3 mmap bad fd");
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	expect(p != MAP_FAILED, 0, "4 mmap rwx");
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect(p != MAP_FAILED, 0, "mmap rw (not recorded)");
	memset(p, 0xc3, PAGE);
	expect(mprotect(p, PAGE, PROT_READ | PROT_EXEC) == 0, 0, "5 mprotect anon");
	q = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect(q != MAP_FAILED && munmap(q, PAGE) == 0, 0, "unmapped page");
	expect(mprotect(q, PAGE, PROT_EXEC) == 0, ENOMEM, "6 mprotect unmapped");
	q = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	expect(q != MAP_FAILED, 0, "mmap file read-only (not recorded)");
	expect(mprotect(q, PAGE, PROT_READ) == 0, 0, "mprotect read (not recorded)");
	expect(mprotect(q, PAGE, PROT_READ | PROT_EXEC) == 0, 0, "7 mprotect file");
	mfd = syscall(SYS_memfd_create, "em code", 0);
	expect(mfd >= 0 && ftruncate(mfd, PAGE) == 0, 0, "memfd");
	p = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, mfd, 0);
	expect(p != MAP_FAILED, 0, "8 mmap memfd");
	dfd = make_file(argv[1], "gone.bin", gone, sizeof(gone));
	expect(unlink(gone) == 0, 0, "unlink");
	p = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, dfd, 0);
	expect(p != MAP_FAILED, 0, "9 mmap deleted");
	q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect(q != MAP_FAILED, 0, "mmap rw (not recorded)");
	expect(syscall(SYS_pkey_mprotect, q, PAGE, PROT_READ | PROT_EXEC, -1) == 0, 0,
	       "10 pkey_mprotect");
	return 0;
}
