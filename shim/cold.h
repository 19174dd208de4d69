/* cold.h - marks the rare paths.  What an exchange costs is mostly the
 * number of distinct code lines it runs (docs/performance.md, round 8):
 * a call to a COLD function makes the branch leading to it unlikely, and
 * the compiler moves that branch out of the lines the common case runs. */
#ifndef FORCECLOSE_COLD_H
#define FORCECLOSE_COLD_H

#define COLD __attribute__((cold, noinline))
/* a test that is false in the common case: its branch goes out of line */
#define unlikely(x) __builtin_expect(!!(x), 0)
#define likely(x) __builtin_expect(!!(x), 1)

#endif
