/* io_uring workload for tests/kernel/test_uring.py: a process whose last thread is its ring's
 * SQPOLL thread (comm iou-sqp-<pid>). It sets up a ring with an SQPOLL thread, prints its pid,
 * and its main thread leaves alone (SYS_exit, not exit_group): the kernel's thread keeps the
 * process (and the ring) alive until the test kills it, so the process's exit is that
 * thread's. */
#include <liburing.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct io_uring ring;
	struct io_uring_params p = {.flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 1000};

	if (io_uring_queue_init_params(4, &ring, &p))
		return 1;
	printf("%d\n", getpid());
	fflush(stdout);
	syscall(SYS_exit, 0);
	return 2;
}
