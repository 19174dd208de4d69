/* slowfstat.c - preloaded after the library (LD_PRELOAD="$FC_PRELOAD:
 * slowfstat.so"), so the library's own fstat() calls come here: after the
 * real fstat() of a socket it waits PROC_SLOW_FSTAT_US microseconds.
 *
 * The library checks a descriptor's identity with fstat() before it acts on
 * the number (FORCECLOSE_ACTION=close: check, then close).  A real thread
 * switch there lasts as long; the delay only makes the window between check
 * and act wide enough that a test can hit it every run.  A library that
 * claims the number before checking it is not affected by any delay.  The
 * test program itself never calls fstat() on a socket. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

__attribute__((visibility("default"))) int fstat(int fd, struct stat *st)
{
	static int (*real)(int, struct stat *);
	static long us = -1;
	int r;

	if (real == NULL)
		real = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
	if (us < 0) {
		const char *e = getenv("PROC_SLOW_FSTAT_US");
		us = e ? atol(e) : 0;
	}
	r = real(fd, st);
	if (r == 0 && S_ISSOCK(st->st_mode) && us > 0) {
		struct timespec t = { us / 1000000, (us % 1000000) * 1000 };
		nanosleep(&t, NULL);
	}
	return r;
}
