/* settings.h - the FORCECLOSE_* environment variables, parsed and
 * validated.  Pure code, shared by the library and the launcher so both
 * accept exactly the same values. */
#ifndef FORCECLOSE_SETTINGS_H
#define FORCECLOSE_SETTINGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "filter.h"

#define SETTINGS_VALUE_MAX 4096	/* longest accepted value */

enum settings_action { ACTION_SHUTDOWN, ACTION_CLOSE, ACTION_NONE };
enum settings_log { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_FILE };

struct settings {
	bool disabled;		/* FORCECLOSE_DISABLE=1 */
	int action;		/* enum settings_action */
	bool has_only, has_except;
	struct filter only, except;
	bool inherit;		/* FORCECLOSE_INHERIT, default true */
	int log;		/* enum settings_log */
	char log_path[PATH_MAX];
	int verbose;		/* 0..3 */
	char stats_path[PATH_MAX];	/* empty: no stats */
	bool observe;		/* FORCECLOSE_MODE=observe */
	char report_path[PATH_MAX];	/* empty: the log destination */
	unsigned report_interval;	/* seconds, 0: at exit and exec only */
	bool keep_deepbind;	/* FORCECLOSE_KEEP_DEEPBIND=1 (io_dl.c) */
};

#define SETTINGS_REPORT_INTERVAL_MAX 86400u

struct settings_error {
	const char *var;	/* the variable's name */
	const char *value;	/* its value (not copied) */
	char why[160];		/* what is wrong, may be empty */
	const char *accepts;	/* what the variable accepts */
};

/* Reads every variable through get (getenv, or the launcher's view).
 * Returns false at the first bad value, with err filled. */
bool settings_parse(struct settings *s, const char *(*get)(const char *),
		    struct settings_error *err);

/* The one-line message for err, starting with prefix and ending in a
 * newline; values are cut short and non-printable bytes shown as '?'.
 * Returns its length (always < cap; cap must be > 0). */
size_t settings_error_line(const struct settings_error *err,
			   const char *prefix, const char *suffix, char *buf,
			   size_t cap);

#endif
