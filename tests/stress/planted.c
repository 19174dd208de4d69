/* planted.c - a data race on purpose, in a TSan-built library preloaded
 * in front of the TSan build of the shim (run.sh with STRESS_PLANT=1).
 * The stress run must then fail with a report naming this file: proof
 * that races inside preloaded code are seen and fail the run. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

static unsigned long calls;	/* unguarded: the race */

__attribute__((visibility("default"))) int
getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	int (*next)(int, struct sockaddr *, socklen_t *) =
		(int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT,
								     "getsockname");

	calls++;
	return next(fd, addr, len);
}
