/* engine.h - the launcher's system-call engine, for programs that no
 * preloaded library reaches (Go, static binaries).  A seccomp filter traps
 * the program's TCP sockets; a supervisor process answers the traps and
 * runs the same pure core as the library.  See docs/internals.md. */
#ifndef FORCECLOSE_ENGINE_H
#define FORCECLOSE_ENGINE_H

#include <stdbool.h>

/* Can the engine run here (kernel features, architecture)?  When not,
 * *why says so. */
bool engine_available(const char **why);

/* Starts the supervisor, installs the filter in this process and execs
 * argv (as execvp).  Returns only on failure, with the exit status the
 * launcher should use (a message was printed). */
int engine_exec(char *argv[]);

#endif
