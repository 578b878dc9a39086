// SPDX-License-Identifier: GPL-2.0-only
/* Syscall-heavy loops for the benchmarks; prints "<ops> <seconds>" on stdout.
 *
 *   workload open SECS PATH       openat PATH O_RDONLY; close -- for SECS seconds
 *   workload forkexec SECS        fork; the child execs /bin/true; wait
 *   workload tcp SECS             connect to a loopback listener; accept; close both
 *   workload paced RATE SECS PATH openat+close at RATE per second for SECS seconds
 *   workload count N PATH         exactly N openat+close, as fast as possible
 *
 * C, not Python: the loop itself should cost next to nothing, so the monitor's share shows.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void open_once(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open");
	close(fd);
}

/* Loops check the clock every `every` operations: cheap next to the syscalls they make. */
#define UNTIL(secs, every, i) for (double t0_ = now(); (i) % (every) || now() - t0_ < (secs); (i)++)

static long run_open(double secs, const char *path)
{
	long i = 0;
	UNTIL(secs, 256, i)
		open_once(path);
	return i;
}

static long run_count(long n, const char *path)
{
	for (long i = 0; i < n; i++)
		open_once(path);
	return n;
}

static long run_forkexec(double secs)
{
	long i = 0;
	UNTIL(secs, 4, i) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		int status;
		if (waitpid(pid, &status, 0) < 0)
			die("waitpid");
	}
	return i;
}

static long run_tcp(double secs)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int one = 1;

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 128))
		die("listen");
	getsockname(lfd, (struct sockaddr *)&addr, &len);
	long i = 0;
	UNTIL(secs, 64, i) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&addr, sizeof(addr)))
			die("connect");
		int s = accept(lfd, NULL, NULL);
		if (s < 0)
			die("accept");
		/* RST instead of FIN: no TIME_WAIT pile-up to exhaust ephemeral ports */
		struct linger lg = { 1, 0 };
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c);
		close(s);
	}
	close(lfd);
	return i;
}

/* Open+close at a fixed rate: a burst every millisecond, sleeping to the next tick. */
static long run_paced(long rate, double secs, const char *path)
{
	double start = now(), tick = 0.001;
	long done = 0;
	while (1) {
		double t = now() - start;
		if (t >= secs)
			break;
		long due = (long)(t * rate) + rate / 1000;
		for (; done < due; done++)
			open_once(path);
		double next = (long)(t / tick + 1) * tick;
		double wait = next - (now() - start);
		if (wait > 0) {
			struct timespec ts = { 0, (long)(wait * 1e9) };
			nanosleep(&ts, NULL);
		}
	}
	return done;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: workload open|forkexec|tcp SECS [PATH] | paced RATE SECS PATH"
				" | count N PATH\n");
		return 2;
	}
	double t0 = now();
	long ops;
	if (!strcmp(argv[1], "open") && argc == 4)
		ops = run_open(atof(argv[2]), argv[3]);
	else if (!strcmp(argv[1], "forkexec"))
		ops = run_forkexec(atof(argv[2]));
	else if (!strcmp(argv[1], "tcp"))
		ops = run_tcp(atof(argv[2]));
	else if (!strcmp(argv[1], "paced") && argc == 5)
		ops = run_paced(atol(argv[2]), atof(argv[3]), argv[4]);
	else if (!strcmp(argv[1], "count") && argc == 4)
		ops = run_count(atol(argv[2]), argv[3]);
	else
		return 2;
	printf("%ld %.6f\n", ops, now() - t0);
	return 0;
}
