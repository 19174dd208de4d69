/* real.h - the libc functions the shim wraps.  Each starts as a stub that
 * resolves them all with dlsym(RTLD_NEXT) on first use, so REAL(name) is a
 * single load and an indirect call, and it also works before our
 * constructor has run (another library's constructor may call a hook). */
#ifndef FORCECLOSE_REAL_H
#define FORCECLOSE_REAL_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

/* X(return type, name, parameters, arguments) for fixed signatures. */
#define REAL_FIXED(X)                                                        \
	X(ssize_t, write, (int a, const void *b, size_t c), (a, b, c))       \
	X(ssize_t, writev, (int a, const struct iovec *b, int c), (a, b, c)) \
	X(ssize_t, send, (int a, const void *b, size_t c, int d),           \
	  (a, b, c, d))                                                      \
	X(ssize_t, sendto, (int a, const void *b, size_t c, int d,          \
			    const struct sockaddr *e, socklen_t f),         \
	  (a, b, c, d, e, f))                                                \
	X(ssize_t, sendmsg, (int a, const struct msghdr *b, int c), (a, b, c)) \
	X(int, sendmmsg, (int a, struct mmsghdr *b, unsigned int c, int d),  \
	  (a, b, c, d))                                                      \
	X(ssize_t, sendfile, (int a, int b, off_t *c, size_t d), (a, b, c, d)) \
	X(ssize_t, sendfile64, (int a, int b, off64_t *c, size_t d),        \
	  (a, b, c, d))                                                      \
	X(ssize_t, splice, (int a, off64_t *b, int c, off64_t *d, size_t e, \
			    unsigned int f), (a, b, c, d, e, f))            \
	X(int, vdprintf, (int a, const char *b, va_list c), (a, b, c))       \
	X(int, __vdprintf_chk, (int a, int b, const char *c, va_list d),    \
	  (a, b, c, d))                                                      \
	X(ssize_t, read, (int a, void *b, size_t c), (a, b, c))              \
	X(ssize_t, readv, (int a, const struct iovec *b, int c), (a, b, c))  \
	X(ssize_t, recv, (int a, void *b, size_t c, int d), (a, b, c, d))    \
	X(ssize_t, recvfrom, (int a, void *b, size_t c, int d,              \
			      struct sockaddr *e, socklen_t *f),            \
	  (a, b, c, d, e, f))                                                \
	X(ssize_t, recvmsg, (int a, struct msghdr *b, int c), (a, b, c))     \
	X(int, recvmmsg, (int a, struct mmsghdr *b, unsigned int c, int d,  \
			  struct timespec *e), (a, b, c, d, e))             \
	X(ssize_t, __read_chk, (int a, void *b, size_t c, size_t d),        \
	  (a, b, c, d))                                                      \
	X(ssize_t, __recv_chk, (int a, void *b, size_t c, size_t d, int e), \
	  (a, b, c, d, e))                                                   \
	X(ssize_t, __recvfrom_chk, (int a, void *b, size_t c, size_t d,     \
				    int e, struct sockaddr *f, socklen_t *g), \
	  (a, b, c, d, e, f, g))                                             \
	X(int, shutdown, (int a, int b), (a, b))                             \
	X(int, connect, (int a, const struct sockaddr *b, socklen_t c),      \
	  (a, b, c))                                                         \
	X(int, close, (int a), (a))                                          \
	X(int, close_range, (unsigned int a, unsigned int b, int c), (a, b, c)) \
	X(void, closefrom, (int a), (a))                                     \
	X(int, dup, (int a), (a))                                            \
	X(int, dup2, (int a, int b), (a, b))                                 \
	X(int, dup3, (int a, int b, int c), (a, b, c))                       \
	X(FILE *, fdopen, (int a, const char *b), (a, b))                    \
	X(int, socket, (int a, int b, int c), (a, b, c))                     \
	X(int, socketpair, (int a, int b, int c, int d[2]), (a, b, c, d))    \
	X(int, accept, (int a, struct sockaddr *b, socklen_t *c), (a, b, c)) \
	X(int, accept4, (int a, struct sockaddr *b, socklen_t *c, int d),    \
	  (a, b, c, d))                                                      \
	X(int, __open_2, (const char *a, int b), (a, b))                     \
	X(int, __open64_2, (const char *a, int b), (a, b))                   \
	X(int, __openat_2, (int a, const char *b, int c), (a, b, c))         \
	X(int, __openat64_2, (int a, const char *b, int c), (a, b, c))       \
	X(int, creat, (const char *a, mode_t b), (a, b))                     \
	X(int, creat64, (const char *a, mode_t b), (a, b))                   \
	X(int, pipe, (int a[2]), (a))                                       \
	X(int, pipe2, (int a[2], int b), (a, b))                            \
	X(int, eventfd, (unsigned int a, int b), (a, b))                     \
	X(int, epoll_create, (int a), (a))                                   \
	X(int, epoll_create1, (int a), (a))                                  \
	X(int, memfd_create, (const char *a, unsigned int b), (a, b))        \
	X(int, signalfd, (int a, const sigset_t *b, int c), (a, b, c))       \
	X(int, timerfd_create, (int a, int b), (a, b))                       \
	X(int, inotify_init, (void), ())                                     \
	X(int, inotify_init1, (int a), (a))                                  \
	X(FILE *, fopen, (const char *a, const char *b), (a, b))             \
	X(FILE *, fopen64, (const char *a, const char *b), (a, b))            \
	X(int, execve, (const char *a, char *const b[], char *const c[]),    \
	  (a, b, c))                                                         \
	X(int, execv, (const char *a, char *const b[]), (a, b))              \
	X(int, execvp, (const char *a, char *const b[]), (a, b))             \
	X(int, execvpe, (const char *a, char *const b[], char *const c[]),   \
	  (a, b, c))                                                         \
	X(int, fexecve, (int a, char *const b[], char *const c[]), (a, b, c)) \
	X(int, execveat, (int a, const char *b, char *const c[],            \
			  char *const d[], int e), (a, b, c, d, e))

/* Variadic ones: the hooks always pass the optional argument. */
#define REAL_OPEN(X) X(open) X(open64)
#define REAL_OPENAT(X) X(openat) X(openat64)
#define REAL_FCNTL(X) X(fcntl) X(fcntl64)
#define REAL_CLONE(X) X(clone)
#define REAL_SYSCALL(X) X(syscall)

struct real_functions {
#define FIELD(ret, name, params, args) ret (*name) params;
	REAL_FIXED(FIELD)
#undef FIELD
#define FIELD(name) int (*name)(const char *, int, ...);
	REAL_OPEN(FIELD)
#undef FIELD
#define FIELD(name) int (*name)(int, const char *, int, ...);
	REAL_OPENAT(FIELD)
#undef FIELD
#define FIELD(name) int (*name)(int, int, ...);
	REAL_FCNTL(FIELD)
#undef FIELD
#define FIELD(name) int (*name)(int (*)(void *), void *, int, void *, ...);
	REAL_CLONE(FIELD)
#undef FIELD
#define FIELD(name) long (*name)(long, ...);
	REAL_SYSCALL(FIELD)
#undef FIELD
};

extern struct real_functions real_fn;

#define REAL(name) (real_fn.name)

/* A TLS library's function: from lib (its dlopen(RTLD_NOLOAD) handle:
 * python and perl load it RTLD_LOCAL, out of RTLD_NEXT's sight), else
 * from RTLD_NEXT; never our own hook (self).  Fatal when not found: the
 * program called a function of a library that is loaded. */
void *real_tls_symbol(void *lib, const char *name, void *self);

#endif
