// SPDX-License-Identifier: GPL-2.0-only
/* mmap without PROT_EXEC, the call every process makes all the time (malloc arenas, files
 * read by mapping): N times mmap of one anonymous read-write page and munmap. Prints
 * "<ops> <seconds>". For benchmarks/execmap_cost.py: the cost the mmap hook adds to the calls
 * it must leave alone. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED || munmap(p, 4096))
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%ld %.6f\n", n, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
