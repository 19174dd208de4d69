/* real.c - resolve the wrapped libc functions with dlsym(RTLD_NEXT). */
#define _GNU_SOURCE
#include "real.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

struct real_functions real_fn;

/* Writes without going through any hook (stdio and write() are ours). */
static void die(const char *what, const char *name)
{
	static const char prefix[] = "libforceclose: fatal: ";
	syscall(SYS_write, 2, prefix, sizeof prefix - 1);
	syscall(SYS_write, 2, what, strlen(what));
	syscall(SYS_write, 2, name, strlen(name));
	syscall(SYS_write, 2, "\n", 1);
	abort();
}

/* A lookup that finds our own hook would recurse forever: abort loudly.
 * A symbol this libc lacks (closefrom before glibc 2.34) stays NULL and its
 * hook is never called anyway, since the program could not link to it. */
static void *lookup(const char *name, void *self)
{
	void *fn = dlsym(RTLD_NEXT, name);
	if (fn != NULL && fn == self)
		die("dlsym(RTLD_NEXT) returned the hook itself for ", name);
	return fn;
}

/* Hooks are exported with these names; taking their address here lets the
 * lookup detect self-resolution. */
#define HOOK(name) extern __typeof__(*real_fn.name) name;
HOOK(write) HOOK(writev) HOOK(send) HOOK(sendto) HOOK(sendmsg) HOOK(sendmmsg)
HOOK(sendfile) HOOK(sendfile64) HOOK(splice) HOOK(vdprintf) HOOK(connect)
HOOK(close) HOOK(close_range) HOOK(closefrom) HOOK(dup) HOOK(dup2) HOOK(dup3)
HOOK(fcntl) HOOK(fcntl64) HOOK(fdopen) HOOK(socket) HOOK(socketpair)
HOOK(accept) HOOK(accept4) HOOK(open) HOOK(open64) HOOK(openat)
HOOK(openat64) HOOK(creat) HOOK(creat64) HOOK(pipe) HOOK(pipe2)
HOOK(eventfd) HOOK(epoll_create) HOOK(epoll_create1) HOOK(memfd_create)
HOOK(timerfd_create) HOOK(inotify_init) HOOK(inotify_init1) HOOK(fopen)
HOOK(fopen64)
#undef HOOK
extern int __open_2(const char *, int);
extern int __open64_2(const char *, int);
extern int __openat_2(int, const char *, int);
extern int __openat64_2(int, const char *, int);
extern int signalfd(int, const void *, int);

void real_init(void)
{
	/* Idempotent: two threads racing here store the same values, each
	 * field published on its own (REAL() tests the field it needs). */
#define R(field, sym) \
	__atomic_store_n(&real_fn.field, \
			 (__typeof__(real_fn.field))lookup(#sym, (void *)sym), \
			 __ATOMIC_RELEASE)
	R(write, write); R(writev, writev); R(send, send); R(sendto, sendto);
	R(sendmsg, sendmsg); R(sendmmsg, sendmmsg); R(sendfile, sendfile);
	R(sendfile64, sendfile64); R(splice, splice); R(vdprintf, vdprintf);
	R(connect, connect); R(close, close); R(close_range, close_range);
	R(closefrom, closefrom); R(dup, dup); R(dup2, dup2); R(dup3, dup3);
	R(fcntl, fcntl); R(fcntl64, fcntl64); R(fdopen, fdopen);
	R(socket, socket); R(socketpair, socketpair); R(accept, accept);
	R(accept4, accept4); R(open, open); R(open64, open64);
	R(openat, openat); R(openat64, openat64); R(open_2, __open_2);
	R(open64_2, __open64_2); R(openat_2, __openat_2);
	R(openat64_2, __openat64_2); R(creat, creat); R(creat64, creat64);
	R(pipe, pipe); R(pipe2, pipe2); R(eventfd, eventfd);
	R(epoll_create, epoll_create); R(epoll_create1, epoll_create1);
	R(memfd_create, memfd_create); R(signalfd, signalfd);
	R(timerfd_create, timerfd_create); R(inotify_init, inotify_init);
	R(inotify_init1, inotify_init1); R(fopen, fopen); R(fopen64, fopen64);
#undef R
	if (real_fn.write == NULL || real_fn.close == NULL ||
	    real_fn.connect == NULL)
		die("cannot resolve libc functions", "");
}
