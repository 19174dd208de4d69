/* check.h - forceclose --check: can LD_PRELOAD reach a program at all? */
#ifndef FORCECLOSE_CHECK_H
#define FORCECLOSE_CHECK_H

/* Inspects program (a path, or a name looked up in PATH) without running
 * it and prints the verdict on stdout.  Returns the exit status: 0 the
 * library can reach it, 1 it cannot, 2 it cannot be read or is not a
 * program (the reason on stderr). */
int check(const char *program);

#endif
