/* io_spawn.c - children that share our memory: vfork and clone.  A vfork
 * child runs on the parent's memory (its table included) with descriptors
 * of its own, until it execs or exits; the hooks must not change the
 * table there.  These hooks let conn_table_mutable() tell such a child
 * without asking the kernel for the pid on every call. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <unistd.h>

#include "conn.h"
#include "real.h"

#define EXPORT __attribute__((visibility("default")))

__thread unsigned conn_vfork_depth __attribute__((tls_model("initial-exec")));

#if defined(__x86_64__)
atomic_bool conn_pid_ask_kernel;
#else
/* vfork is interposed on x86-64 only (below): elsewhere a vfork
 * child can only be told by its pid */
atomic_bool conn_pid_ask_kernel = true;
#endif

pid_t conn_pid;

/* A child shares our descriptor table (see conn_note_clone). */
static atomic_bool fds_shared;

bool conn_fds_shared(void)
{
	return atomic_load_explicit(&fds_shared, memory_order_relaxed);
}

/* The fork child handler: this is a new process. */
void conn_pid_reset(void)
{
	conn_pid = getpid();
}

void conn_note_clone(unsigned long flags)
{
	if (flags & CLONE_THREAD)
		return;
	if (flags & CLONE_VM)
		atomic_store(&conn_pid_ask_kernel, true);
	if (flags & CLONE_FILES)
		atomic_store(&fds_shared, true);
}

bool conn_table_mutable_ask(void)
{
	pid_t pid = getpid();

	/* before the constructor: the first caller is the process itself */
	if (conn_pid == 0)
		conn_pid = pid;
	return pid == conn_pid;
}


#if defined(__x86_64__)
/* vfork cannot be a C function that calls libc's: the child returns
 * through that function's frame and then overwrites it on the parent's
 * stack, before the parent returns through it.  So, as glibc does it: the
 * return address is popped into a register (each process has its own),
 * the system call made, and the address pushed back.  The depth is raised
 * before the call, so the child sees it (its checks ask the kernel), and
 * lowered in the parent after, once the child has exec'd or exited; a
 * count, not a flag, so that a signal handler that vforks inside the
 * window leaves it raised for the outer call. */
__attribute__((used, visibility("hidden"))) long fc_vfork_failed(long r)
{
	errno = (int)-r;
	return -1;
}

__asm__(".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	".globl __vfork\n"
	".type __vfork, @function\n"
	"vfork:\n"
	"__vfork:\n"
#ifdef __CET__
	"	endbr64\n"
#endif
	"	movq conn_vfork_depth@gottpoff(%rip), %rax\n"
	"	addl $1, %fs:(%rax)\n"
	"	popq %rdi\n"
	"	movl $58, %eax\n"	/* SYS_vfork */
	"	syscall\n"
	"	pushq %rdi\n"
	"	testq %rax, %rax\n"
	"	jz 1f\n"		/* the child: returns 0 */
	"	movq conn_vfork_depth@gottpoff(%rip), %rdi\n"
	"	subl $1, %fs:(%rdi)\n"
	"	cmpq $-4095, %rax\n"
	"	jae 2f\n"
	"1:	ret\n"
	"2:	movq %rax, %rdi\n"
	"	jmp fc_vfork_failed\n"
	".size vfork, .-vfork\n"
	".size __vfork, .-__vfork\n");
#endif

/* A child that shares our memory or our descriptors and is not a thread
 * of ours: see conn_note_clone.  The child runs fn on its own stack, never through this frame.
 * The optional arguments are always passed on, as glibc reads them (so
 * past what a caller passed: not for AddressSanitizer to report). */
EXPORT __attribute__((no_sanitize_address)) int
clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	void *ptid, *tls, *ctid;

	va_start(ap, arg);
	ptid = va_arg(ap, void *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, void *);
	va_end(ap);
	conn_note_clone((unsigned)flags);
	return REAL(clone)(fn, stack, flags, arg, ptid, tls, ctid);
}

EXPORT __attribute__((no_sanitize_address)) int
__clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	void *ptid, *tls, *ctid;

	va_start(ap, arg);
	ptid = va_arg(ap, void *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, void *);
	va_end(ap);
	return clone(fn, stack, flags, arg, ptid, tls, ctid);
}
