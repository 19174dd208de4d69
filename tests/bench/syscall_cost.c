/* syscall_cost.c - what one system call costs on this host, for the
 * header of `make bench`'s results.  Figure 2's floor is mostly kernel
 * time (connect, accept, send, recv, shutdown, close on loopback), so its
 * rate, and so whether issue 16's condition of >= 25,000 requests a second
 * can be met at all, follows the host's cost of entering the kernel: a
 * nested or heavily mitigated guest pays several times a bare host's.
 * Prints the median of 7 batches of 200,000 getppid() calls, in ns a call,
 * made through syscall() so that no libc cache answers them. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { BATCHES = 7, CALLS = 200000 };

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	double ns[BATCHES];
	struct timespec t0, t1;

	for (int b = 0; b < BATCHES; b++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < CALLS; i++)
			syscall(SYS_getppid);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns[b] = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
			 (double)(t1.tv_nsec - t0.tv_nsec)) / CALLS;
	}
	qsort(ns, BATCHES, sizeof ns[0], by_value);
	printf("%.0f\n", ns[BATCHES / 2]);
	return 0;
}
