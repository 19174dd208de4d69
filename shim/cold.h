/* cold.h - marks the rare paths.  What an exchange costs is mostly the
 * number of distinct code lines it runs (docs/performance.md, rounds 8
 * and 9), so what the common case never runs should not share its lines.
 * Without a profile, the one hint GCC moves code out of line for is a
 * call to a cold function: __builtin_expect alone only reorders blocks
 * inside the function. */
#ifndef FORCECLOSE_COLD_H
#define FORCECLOSE_COLD_H

#define COLD __attribute__((cold, noinline))

/* An empty call the compiler cannot drop (its asm), made only on the rare
 * branch: that branch moves to the function's .cold part. */
static COLD __attribute__((unused)) void cold_path(void)
{
	__asm__ volatile("");
}

/* a test that is false in the common case: its branch goes out of line */
#define unlikely(x) \
	(__builtin_expect(!!(x), 0) ? (cold_path(), 1) : 0)
#define likely(x) __builtin_expect(!!(x), 1)

#endif
