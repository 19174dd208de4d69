/* log.h - FORCECLOSE_LOG / FORCECLOSE_VERBOSE.  Lines are built on the
 * stack and written with raw system calls: no stdio, no hooks, safe in a
 * signal handler, never blocking the program for long. */
#ifndef FORCECLOSE_LOG_H
#define FORCECLOSE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cold.h"
#include "config.h"

enum log_level { LOG_ERRORS, LOG_TEARDOWNS, LOG_REQUESTS, LOG_DEBUG };

static inline bool log_on(int level)
{
	return unlikely(config.verbose >= level);
}

/* "libforceclose: PROG[PID]: DEST: WHAT" with DETAIL (from the traffic,
 * sanitised, may be NULL) spliced in where WHAT has "%s". */
COLD void log_event_line(int level, const char *dest, const char *what,
			 const char *detail, size_t detail_len);

/* (log_event: the level test is inline, so quiet levels cost nothing) */
#define log_event(level, ...)                                \
	do {                                                 \
		if (log_on(level))                           \
			log_event_line((level), __VA_ARGS__); \
	} while (0)

/* Remembers which file descriptor 2 is (device and inode), once, at
 * start-up: lines for stderr go there only while 2 is still that file. */
void log_stderr_init(void);

/* Writes buf to the program's original stderr, if descriptor 2 is still
 * it, is not a connection the library tracks and can take it at once.
 * Never raises SIGPIPE; errno is kept.  Async-signal-safe. */
void log_stderr_write(const char *buf, size_t n);

/* Opens path (FORCECLOSE_LOG or _STATS, named by var) to append one line:
 * no symbolic link in the path, created with mode 0600, and only a
 * regular file with one link owned by the effective user is kept open.
 * A file refused for those reasons sets *refused, prints one line on
 * stderr, and the path is never opened again by this process.  Returns
 * the descriptor (close it with SYS_close) or -1. */
int log_open_append(const char *path, const char *var, atomic_bool *refused);

/* A destination as text for log lines: "127.0.0.1:80", "[::1]:8080",
 * "unix:/path". */
void log_format_dest(char *out, size_t cap, const struct sockaddr *sa,
		     socklen_t len);

#endif
