/* check.h - forceclose --check: can LD_PRELOAD reach a program at all? */
#ifndef FORCECLOSE_CHECK_H
#define FORCECLOSE_CHECK_H

#include <stdbool.h>

/* Inspects program (a path, or a name looked up in PATH) without running
 * it and prints the verdict on stdout.  Returns the exit status: 0 the
 * library can reach it, 1 it cannot, 2 it cannot be read or is not a
 * program (the reason on stderr). */
int check(const char *program);

/* Should --engine=auto run program under the system-call engine (a Go or
 * statically linked x86_64 ELF)?  Scripts and unreadable files: no. */
bool check_wants_engine(const char *program);

#endif
