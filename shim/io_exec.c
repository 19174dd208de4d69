/* io_exec.c - the exec family: the process image ends here, so what the
 * rewriter still holds goes out and the counters are written, as at exit.
 * (glibc's exec functions call each other internally, not through the
 * PLT, so each is hooked.) */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include "conn.h"
#include "real.h"
#include "observe.h"
#include "stats.h"

#define EXPORT __attribute__((visibility("default")))

static void before_exec(void)
{
	/* a vfork child shares our memory but not our descriptors */
	if (!conn_table_mutable())
		return;
	conn_flush_all();
	stats_write("exec");
	observe_report("exec");
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	before_exec();
	return REAL(execve)(path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	before_exec();
	return REAL(execv)(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	before_exec();
	return REAL(execvp)(file, argv);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	before_exec();
	return REAL(execvpe)(file, argv, envp);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	before_exec();
	return REAL(fexecve)(fd, argv, envp);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[],
		    char *const envp[], int flags)
{
	before_exec();
	return REAL(execveat)(dirfd, path, argv, envp, flags);
}

/* The list forms: count, then copy into an array on the stack, as glibc
 * does (arg is never NULL: glibc declares it nonnull).  execle's envp
 * follows the terminating NULL. */
#define LIST_TO_ARGV(arg, argv)                                              \
	size_t argc;                                                         \
	va_list ap;                                                          \
	va_start(ap, arg);                                                   \
	for (argc = 1; va_arg(ap, char *) != NULL; argc++)                   \
		;                                                            \
	va_end(ap);                                                          \
	char *argv[argc + 1];                                                \
	argv[0] = (char *)(arg);                                             \
	va_start(ap, arg);                                                   \
	for (size_t i = 1; i <= argc; i++)                                   \
		argv[i] = va_arg(ap, char *);                                \
	va_end(ap)

EXPORT int execl(const char *path, const char *arg, ...)
{
	LIST_TO_ARGV(arg, argv);
	before_exec();
	return REAL(execv)(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	LIST_TO_ARGV(arg, argv);
	before_exec();
	return REAL(execvp)(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	LIST_TO_ARGV(arg, argv);
	va_start(ap, arg);
	for (size_t i = 1; i <= argc; i++)	/* to the NULL, inclusive */
		(void)va_arg(ap, char *);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	before_exec();
	return REAL(execve)(path, argv, envp);
}
