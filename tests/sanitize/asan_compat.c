/* asan_compat.c - preloaded FIRST by asan.sh (before the ASan runtime, with
 * verify_asan_link_order=0), for two incompatibilities of clang 14's ASan
 * runtime with the host programs the tests run.  The library under test
 * uses neither function, so nothing of ours is hidden.  It also carries
 * the UBSan options (see the end).
 *
 * swift_demangle: a host program (curl, wget: libp11-kit's constructor) can
 * make the first malloc() of the process inside newlocale(), which holds
 * glibc's __libc_setlocale_lock for writing.  That malloc() initialises the
 * ASan runtime, whose Symbolizer::LateInitialize() looks up
 * "swift_demangle" with dlsym(); the failed lookup makes dlerror() call
 * gettext, which takes and drops the same lock for reading and corrupts
 * it, so the program's next setlocale() blocks forever.  Defined here, the
 * lookup succeeds and dlerror() has nothing to format.  NULL means "not a
 * Swift name": the runtime then demangles as C++ as usual.
 *
 * aligned_alloc: the runtime insists (C11 before DR 460) that the size is a
 * multiple of the alignment and kills the program otherwise; glibc and C17
 * accept any size, and coreutils 9.1 dd asks for (4096, bs + slop).
 * memalign() is the runtime's too, without that check. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT char *swift_demangle(const char *name, size_t len, char *out,
			    size_t *outlen, uint32_t flags);

char *swift_demangle(const char *name, size_t len, char *out, size_t *outlen,
		     uint32_t flags)
{
	(void)name;
	(void)len;
	(void)out;
	(void)outlen;
	(void)flags;
	return NULL;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	return memalign(alignment, size);
}

/* UBSan's own options, read by the runtime before UBSAN_OPTIONS.  Here and
 * not in an exported UBSAN_OPTIONS, which the suite's other sanitized
 * programs (the TSan stress harness) would read too.  Reports go where
 * ASAN_OPTIONS's log_path says; without -fsanitize-recover they abort. */
EXPORT const char *__ubsan_default_options(void);

const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1";
}
