/* Calls on another process, each by its raw number, success and failure path, in a known
 * order: signals (kill, tkill, tgkill, pidfd_send_signal), ptrace, process_vm_readv/writev,
 * all aimed at a forked child. Prints its pid and the child's. Run as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define NO_SUCH_PID 999999

static volatile long word = 7;

static void expect(long ret, int want_errno, const char *what)
{
	if ((want_errno && (ret != -1 || errno != want_errno)) || (!want_errno && ret < 0)) {
		fprintf(stderr, "%s: ret %ld errno %d\n", what, ret, errno);
		exit(1);
	}
}

int main(void)
{
	long peek = 0, buf = 0;
	struct iovec local = {&buf, sizeof(buf)}, remote = {(void *)&word, sizeof(word)};
	int status, pidfd;
	pid_t child;

	signal(SIGUSR1, SIG_IGN); /* before the fork: the child ignores it from its start */
	child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	printf("%d %d\n", getpid(), child);
	fflush(stdout);
	expect(syscall(SYS_kill, child, 0), 0, "kill 0");
	expect(syscall(SYS_kill, NO_SUCH_PID, SIGTERM), ESRCH, "kill missing");
	expect(syscall(SYS_kill, 0, 0), 0, "kill own group");
	expect(syscall(SYS_tkill, child, 0), 0, "tkill");
	expect(syscall(SYS_tgkill, child, child, SIGUSR1), 0, "tgkill");
	expect(syscall(SYS_tgkill, child, 1, 0), ESRCH, "tgkill wrong thread");
	pidfd = syscall(SYS_pidfd_open, child, 0);
	expect(pidfd, 0, "pidfd_open");
	expect(syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0), 0, "pidfd_send_signal");
	expect(syscall(SYS_pidfd_send_signal, 1, SIGUSR1, NULL, 0), EBADF, "pidfd not a pidfd");
	expect(syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 1 << 5), EINVAL, "bad flag");
	expect(syscall(SYS_ptrace, PTRACE_ATTACH, child, 0, 0), 0, "attach");
	waitpid(child, &status, 0);
	expect(syscall(SYS_ptrace, PTRACE_PEEKDATA, child, &word, &peek), 0, "peek");
	expect(syscall(SYS_ptrace, PTRACE_POKEDATA, child, &word, 42), 0, "poke");
	expect(syscall(SYS_ptrace, PTRACE_DETACH, child, 0, 0), 0, "detach");
	expect(syscall(SYS_ptrace, PTRACE_ATTACH, NO_SUCH_PID, 0, 0), ESRCH, "attach missing");
	expect(syscall(SYS_process_vm_readv, child, &local, 1, &remote, 1, 0), 0, "vm read");
	buf = 99;
	expect(syscall(SYS_process_vm_writev, child, &local, 1, &remote, 1, 0), 0, "vm write");
	expect(syscall(SYS_process_vm_readv, NO_SUCH_PID, &local, 1, &remote, 1, 0), ESRCH,
	       "vm read missing");
	expect(syscall(SYS_kill, child, SIGKILL), 0, "kill child");
	waitpid(child, &status, 0);
	return 0;
}
