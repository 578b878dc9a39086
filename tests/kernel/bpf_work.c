/* bpf(2) program loads by their raw number: a two-instruction socket filter named
 * "em_test_prog" (success), the same with no instructions (E2BIG), and a map lookup command
 * (not a program load: not recorded). Prints its pid. Run as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;
	long fd;

	printf("%d\n", getpid());
	fflush(stdout);
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insn_cnt = 2;
	attr.insns = (unsigned long)insns;
	attr.license = (unsigned long)"GPL";
	strcpy(attr.prog_name, "em_test_prog");
	fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0) {
		perror("BPF_PROG_LOAD");
		return 1;
	}
	attr.insn_cnt = 0;
	if (syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)) != -1 || errno != E2BIG) {
		fprintf(stderr, "empty program: errno %d\n", errno);
		return 1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_fd = 12345;
	syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)); /* EBADF: not recorded */
	close(fd);
	return 0;
}
