/* log.h - FORCECLOSE_LOG / FORCECLOSE_VERBOSE.  Lines are built on the
 * stack and written with raw system calls: no stdio, no hooks, safe in a
 * signal handler, never blocking the program for long. */
#ifndef FORCECLOSE_LOG_H
#define FORCECLOSE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

enum log_level { LOG_ERRORS, LOG_TEARDOWNS, LOG_REQUESTS, LOG_DEBUG };

static inline bool log_on(int level)
{
	return config.verbose >= level;
}

/* "libforceclose: PROG[PID]: DEST: WHAT" with DETAIL (from the traffic,
 * sanitised, may be NULL) spliced in where WHAT has "%s". */
void log_event_line(int level, const char *dest, const char *what,
	       const char *detail, size_t detail_len);

/* (log_event: the level test is inline, so quiet levels cost nothing) */
#define log_event(level, ...)                                \
	do {                                                 \
		if (log_on(level))                           \
			log_event_line((level), __VA_ARGS__); \
	} while (0)

/* A destination as text for log lines: "127.0.0.1:80", "[::1]:8080",
 * "unix:/path". */
void log_format_dest(char *out, size_t cap, const struct sockaddr *sa,
		     socklen_t len);

#endif
