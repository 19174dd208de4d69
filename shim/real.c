/* real.c - resolve the wrapped libc functions with dlsym(RTLD_NEXT).
 * Every pointer starts at a stub that resolves all of them and then makes
 * the call it stands for. */
#define _GNU_SOURCE
#include "real.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

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
 * A symbol this libc lacks stays NULL; its hook is never called, since no
 * program could have linked against it. */
static void *lookup(const char *name, void *self)
{
	void *fn = dlsym(RTLD_NEXT, name);
	if (fn != NULL && fn == self)
		die("dlsym(RTLD_NEXT) returned the hook itself for ", name);
	return fn;
}

void *real_tls_symbol(void *lib, const char *name, void *self)
{
	void *fn = lib != NULL ? dlsym(lib, name) : NULL;

	if (fn == NULL)
		fn = dlsym(RTLD_NEXT, name);
	if (fn == NULL || fn == self)
		die("cannot find the real ", name);
	return fn;
}

/* Our hooks, by the names they are exported under. */
#define DECLARE(ret, name, params, args) extern ret name params;
REAL_FIXED(DECLARE)
#undef DECLARE
#define DECLARE(name) extern int name(const char *, int, ...);
REAL_OPEN(DECLARE)
#undef DECLARE
#define DECLARE(name) extern int name(int, const char *, int, ...);
REAL_OPENAT(DECLARE)
#undef DECLARE
#define DECLARE(name) extern int name(int, int, ...);
REAL_FCNTL(DECLARE)
#undef DECLARE
#define DECLARE(name) \
	extern int name(int (*)(void *), void *, int, void *, ...);
REAL_CLONE(DECLARE)
#undef DECLARE
#define DECLARE(name) extern long name(long, ...);
REAL_SYSCALL(DECLARE)
#undef DECLARE

static void resolve_all(void);

#define STUB(ret, name, params, args)           \
	static ret name##_stub params           \
	{                                       \
		resolve_all();                  \
		return real_fn.name args;       \
	}
REAL_FIXED(STUB)
#undef STUB
#define STUB(name)                                              \
	static int name##_stub(const char *p, int f, ...)       \
	{                                                       \
		va_list ap;                                     \
		mode_t m;                                       \
		va_start(ap, f);                                \
		m = va_arg(ap, mode_t);                         \
		va_end(ap);                                     \
		resolve_all();                                  \
		return real_fn.name(p, f, m);                   \
	}
REAL_OPEN(STUB)
#undef STUB
#define STUB(name)                                                      \
	static int name##_stub(int d, const char *p, int f, ...)        \
	{                                                               \
		va_list ap;                                             \
		mode_t m;                                               \
		va_start(ap, f);                                        \
		m = va_arg(ap, mode_t);                                 \
		va_end(ap);                                             \
		resolve_all();                                          \
		return real_fn.name(d, p, f, m);                        \
	}
REAL_OPENAT(STUB)
#undef STUB
#define STUB(name)                                              \
	static int name##_stub(int fd, int cmd, ...)            \
	{                                                       \
		va_list ap;                                     \
		void *arg;                                      \
		va_start(ap, cmd);                              \
		arg = va_arg(ap, void *);                       \
		va_end(ap);                                     \
		resolve_all();                                  \
		return real_fn.name(fd, cmd, arg);              \
	}
REAL_FCNTL(STUB)
#undef STUB
#define STUB(name)                                                      \
	__attribute__((no_sanitize_address))                            \
	static int name##_stub(int (*fn)(void *), void *st, int fl,     \
			       void *arg, ...)                          \
	{                                                               \
		va_list ap;                                             \
		void *p, *t, *c;                                        \
		va_start(ap, arg);                                      \
		p = va_arg(ap, void *);                                 \
		t = va_arg(ap, void *);                                 \
		c = va_arg(ap, void *);                                 \
		va_end(ap);                                             \
		resolve_all();                                          \
		return real_fn.name(fn, st, fl, arg, p, t, c);          \
	}
REAL_CLONE(STUB)
#undef STUB
#define STUB(name)                                                      \
	__attribute__((no_sanitize_address))                            \
	static long name##_stub(long n, ...)                            \
	{                                                               \
		va_list ap;                                             \
		long a[6];                                              \
		va_start(ap, n);                                        \
		for (int i = 0; i < 6; i++)                             \
			a[i] = va_arg(ap, long);                        \
		va_end(ap);                                             \
		resolve_all();                                          \
		return real_fn.name(n, a[0], a[1], a[2], a[3], a[4], a[5]); \
	}
REAL_SYSCALL(STUB)
#undef STUB

struct real_functions real_fn = {
#define INIT(ret, name, params, args) .name = name##_stub,
	REAL_FIXED(INIT)
#undef INIT
#define INIT(name) .name = name##_stub,
	REAL_OPEN(INIT) REAL_OPENAT(INIT) REAL_FCNTL(INIT) REAL_CLONE(INIT)
	REAL_SYSCALL(INIT)
#undef INIT
};

/* Idempotent: threads racing here store the same values, each pointer on
 * its own, atomically. */
static void resolve_all(void)
{
#define RESOLVE(name)                                                     \
	__atomic_store_n(&real_fn.name,                                   \
			 (__typeof__(real_fn.name))lookup(#name, (void *)name), \
			 __ATOMIC_RELEASE);
#define RESOLVE_FIXED(ret, name, params, args) RESOLVE(name)
	/* first: die() and the library's own syscall() calls reach libc's
	 * through the hook */
	REAL_SYSCALL(RESOLVE)
	REAL_FIXED(RESOLVE_FIXED)
	REAL_OPEN(RESOLVE) REAL_OPENAT(RESOLVE) REAL_FCNTL(RESOLVE)
	REAL_CLONE(RESOLVE)
#undef RESOLVE_FIXED
#undef RESOLVE
	if (real_fn.write == NULL || real_fn.close == NULL ||
	    real_fn.connect == NULL)
		die("cannot resolve libc functions", "");
}

__attribute__((constructor(101))) static void real_init(void)
{
	resolve_all();
}
