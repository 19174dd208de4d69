/* checks_from_memory.c - for the breakdown of figure 2 only, never for
 * real use.  Preloaded *after* the shim (LD_PRELOAD=libforceclose.so:
 * checks_from_memory.so), it answers the shim's own system calls from
 * memory, so that one run can tell what each costs:
 *   getsockopt(SO_TYPE)  -> SOCK_STREAM    (connect: is it a stream?)
 *   fstat(fd)            -> a socket, inode fd + 1  (descriptor identity)
 *   getpid()             -> the pid read once  (vfork-child guard)
 *   shutdown()           -> 0, nothing done  (the teardown; the shim finds
 *                           libc's through dlsym(RTLD_NEXT), so this one)
 * BENCH_FAKE picks which, as a comma list of "type", "identity", "pid",
 * "teardown" (default: all).  Only the benchmark client runs under it; it
 * calls none of these itself, and closes each connection because the
 * response says close, so the FIN still goes out, from its close().
 * Build: cc -O2 -shared -fPIC -o checks_from_memory.so checks_from_memory.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static int fake(const char *what)
{
	const char *v = getenv("BENCH_FAKE");

	return v == NULL || strstr(v, what) != NULL;
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	static int (*real)(int, int, int, void *, socklen_t *);

	if (level == SOL_SOCKET && name == SO_TYPE && *len >= sizeof(int) &&
	    fake("type")) {
		*(int *)val = SOCK_STREAM;
		*len = sizeof(int);
		return 0;
	}
	if (real == NULL)
		real = (int (*)(int, int, int, void *, socklen_t *))
			dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, name, val, len);
}

int fstat(int fd, struct stat *st)
{
	static int (*real)(int, struct stat *);

	if (fd > 2 && fake("identity")) {
		memset(st, 0, sizeof *st);
		st->st_mode = S_IFSOCK | 0777;
		st->st_dev = 1;
		st->st_ino = (ino_t)fd + 1;
		return 0;
	}
	if (real == NULL)
		real = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
	return real(fd, st);
}

int shutdown(int fd, int how)
{
	static int (*real)(int, int);

	if (fake("teardown"))
		return 0;
	if (real == NULL)
		real = (int (*)(int, int))dlsym(RTLD_NEXT, "shutdown");
	return real(fd, how);
}

pid_t getpid(void)
{
	static pid_t pid;

	if (!fake("pid"))
		return (pid_t)syscall(SYS_getpid);
	if (pid == 0)
		pid = (pid_t)syscall(SYS_getpid);
	return pid;
}
