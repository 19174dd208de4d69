/* io_dl.c - dlopen(RTLD_DEEPBIND).  An object loaded with that flag
 * binds the references of its own tree (itself and its dependencies)
 * inside that tree first, so everything it does bypasses this library:
 * PHP loads its extensions so, and libcurl under PHP's curl extension then
 * calls libc's connect/send/recv and libssl's SSL_write directly.  The
 * flag is dropped, so those references bind as in any other object; PHP
 * itself stopped setting it where dlmopen() exists (php-src #18612).
 * FORCECLOSE_KEEP_DEEPBIND=1 keeps it (and leaves such objects alone).
 *
 * The hook cannot be a C function that calls libc's dlopen: glibc reads
 * the caller's return address to find the caller's RUNPATH and $ORIGIN,
 * and would find this library's.  So the call is a jump, made with the
 * program's return address still on the stack; only a call that sets
 * RTLD_DEEPBIND (or the very first one) goes through C on the way. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "config.h"
#include "log.h"

#if defined(__x86_64__)
typedef void *dlopen_fn(const char *, int);

/* libc's dlopen once known (read by the jump below) */
__attribute__((visibility("hidden"))) dlopen_fn *fc_real_dlopen;

static void *dlopen_missing(const char *file, int mode)
{
	(void)file;
	(void)mode;
	return NULL;
}

/* The mode libc's dlopen gets; fc_real_dlopen is set on return. */
__attribute__((used, visibility("hidden"))) int
fc_dlopen_mode(const char *file, int mode)
{
	int saved = errno;

	if (fc_real_dlopen == NULL) {
		dlopen_fn *f = (dlopen_fn *)dlsym(RTLD_NEXT, "dlopen");
		__atomic_store_n(&fc_real_dlopen, f ? f : dlopen_missing,
				 __ATOMIC_RELEASE);
	}
	if (mode & RTLD_DEEPBIND) {
		config_load();
		if (!config.disabled && !settings.keep_deepbind) {
			mode &= ~RTLD_DEEPBIND;
			log_event(LOG_TEARDOWNS, NULL,
				  "dlopen(%s): RTLD_DEEPBIND dropped, so that "
				  "the library sees what it does "
				  "(FORCECLOSE_KEEP_DEEPBIND=1 keeps it)",
				  file ? file : "NULL", file ? strlen(file) : 4);
		}
	}
	errno = saved;
	return mode;
}

__asm__(".text\n"
	".globl dlopen\n"
	".type dlopen, @function\n"
	"dlopen:\n"
#ifdef __CET__
	"	endbr64\n"
#endif
	"	movq fc_real_dlopen(%rip), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 1f\n"
	"	testl $0x8, %esi\n"	/* RTLD_DEEPBIND */
	"	jnz 1f\n"
	"	jmp *%rax\n"
	"1:	pushq %rdi\n"
	"	pushq %rsi\n"
	"	subq $8, %rsp\n"	/* the stack 16-byte aligned at the call */
	"	call fc_dlopen_mode\n"
	"	addq $8, %rsp\n"
	"	popq %rsi\n"
	"	popq %rdi\n"
	"	movl %eax, %esi\n"
	"	jmp *fc_real_dlopen(%rip)\n"
	".size dlopen, .-dlopen\n");
#endif
