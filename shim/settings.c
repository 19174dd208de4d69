/* settings.c - FORCECLOSE_* values: each is checked in full, and the first
 * bad one is reported; nothing is guessed. */
#define _GNU_SOURCE
#include "settings.h"

#include <stdint.h>
#include <string.h>

static bool fail(struct settings_error *err, const char *var,
		 const char *value, const char *why, const char *accepts)
{
	err->var = var;
	err->value = value;
	err->accepts = accepts;
	err->why[0] = '\0';
	if (why != NULL) {
		size_t n = strlen(why);
		if (n >= sizeof err->why)
			n = sizeof err->why - 1;
		memcpy(err->why, why, n);
		err->why[n] = '\0';
	}
	return false;
}

/* An empty value counts as unset. */
static const char *value_of(const char *(*get)(const char *), const char *var)
{
	const char *v = get(var);
	return v != NULL && *v != '\0' ? v : NULL;
}

static bool one_of(const char *v, const char *const *words, int *index)
{
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strcmp(v, words[i]) == 0) {
			*index = i;
			return true;
		}
	return false;
}

static bool parse_list(struct filter *f, bool *has, const char *var,
		       const char *v, struct settings_error *err)
{
	const char *why, *bad;
	size_t bad_len;

	if (v == NULL)
		return true;
	if (!filter_parse(f, v, &why, &bad, &bad_len)) {
		/* "<why> in "<entry>"", without stdio: this may run in a
		 * hook before the constructor */
		char text[sizeof err->why];
		size_t n = strlen(why), k = bad_len > 40 ? 40 : bad_len;
		memcpy(text, why, n);
		memcpy(text + n, " in \"", 5);
		memcpy(text + n + 5, bad, k);
		n += 5 + k;
		if (bad_len > 40)
			memcpy(text + n, "...", 3), n += 3;
		memcpy(text + n, "\"", 2);
		return fail(err, var, v, text, FILTER_ACCEPTS);
	}
	*has = true;
	return true;
}

static bool parse_path(char *out, const char *var, const char *v,
		       struct settings_error *err, const char *accepts)
{
	size_t n = strlen(v);

	if (v[0] != '/')
		return fail(err, var, v, "not an absolute path", accepts);
	if (n >= PATH_MAX)
		return fail(err, var, v, "path too long", accepts);
	memcpy(out, v, n + 1);
	return true;
}

static bool too_long(const char *(*get)(const char *), const char *var,
		     struct settings_error *err, const char *accepts)
{
	const char *v = value_of(get, var);

	if (v != NULL && strlen(v) > SETTINGS_VALUE_MAX)
		return fail(err, var, v, "longer than 4096 bytes", accepts),
		       true;
	return false;
}

#define ACCEPT_BOOL "0 or 1"
#define ACCEPT_ACTION "shutdown, close or none"
#define ACCEPT_LOG "stderr, syslog or an absolute file path"
#define ACCEPT_VERBOSE "0, 1, 2 or 3"
#define ACCEPT_STATS "an absolute file path"
#define ACCEPT_MODE "enforce or observe"
#define ACCEPT_INTERVAL "a whole number of seconds from 0 (off) to 86400"

/* Decimal digits only, no sign, at most max. */
static bool parse_seconds(const char *v, unsigned max, unsigned *out)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 9)
			return false;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (n > max)
		return false;
	*out = (unsigned)n;
	return true;
}

bool settings_parse(struct settings *s, const char *(*get)(const char *),
		    struct settings_error *err)
{
	static const char *const bools[] = { "0", "1", NULL };
	static const char *const actions[] = { "shutdown", "close", "none",
					       NULL };
	static const char *const levels[] = { "0", "1", "2", "3", NULL };
	static const struct { const char *var, *accepts; } all[] = {
		{ "FORCECLOSE_DISABLE", ACCEPT_BOOL },	/* checked first */
		{ "FORCECLOSE_ACTION", ACCEPT_ACTION },
		{ "FORCECLOSE_ONLY", FILTER_ACCEPTS },
		{ "FORCECLOSE_EXCEPT", FILTER_ACCEPTS },
		{ "FORCECLOSE_INHERIT", ACCEPT_BOOL },
		{ "FORCECLOSE_LOG", ACCEPT_LOG },
		{ "FORCECLOSE_VERBOSE", ACCEPT_VERBOSE },
		{ "FORCECLOSE_STATS", ACCEPT_STATS },
		{ "FORCECLOSE_MODE", ACCEPT_MODE },
		{ "FORCECLOSE_REPORT", ACCEPT_STATS },
		{ "FORCECLOSE_REPORT_INTERVAL", ACCEPT_INTERVAL },
		{ "FORCECLOSE_KEEP_DEEPBIND", ACCEPT_BOOL },
	};
	static const char *const modes[] = { "enforce", "observe", NULL };
	const char *v;
	int i;
	size_t k;

	memset(s, 0, sizeof *s);
	s->inherit = true;
	if ((v = value_of(get, "FORCECLOSE_DISABLE")) != NULL) {
		if (!one_of(v, bools, &i))
			return fail(err, "FORCECLOSE_DISABLE", v, NULL,
				    ACCEPT_BOOL);
		s->disabled = i == 1;
		if (s->disabled)
			return true;	/* nothing else is read, or checked */
	}
	for (k = 1; k < sizeof all / sizeof all[0]; k++)
		if (too_long(get, all[k].var, err, all[k].accepts))
			return false;
	if ((v = value_of(get, "FORCECLOSE_ACTION")) != NULL) {
		if (!one_of(v, actions, &s->action))
			return fail(err, "FORCECLOSE_ACTION", v, NULL,
				    ACCEPT_ACTION);
	}
	if (!parse_list(&s->only, &s->has_only, "FORCECLOSE_ONLY",
			value_of(get, "FORCECLOSE_ONLY"), err) ||
	    !parse_list(&s->except, &s->has_except, "FORCECLOSE_EXCEPT",
			value_of(get, "FORCECLOSE_EXCEPT"), err))
		return false;
	if ((v = value_of(get, "FORCECLOSE_INHERIT")) != NULL) {
		if (!one_of(v, bools, &i))
			return fail(err, "FORCECLOSE_INHERIT", v, NULL,
				    ACCEPT_BOOL);
		s->inherit = i == 1;
	}
	if ((v = value_of(get, "FORCECLOSE_LOG")) != NULL) {
		if (strcmp(v, "stderr") == 0)
			s->log = LOG_TO_STDERR;
		else if (strcmp(v, "syslog") == 0)
			s->log = LOG_TO_SYSLOG;
		else if (parse_path(s->log_path, "FORCECLOSE_LOG", v, err,
				    ACCEPT_LOG))
			s->log = LOG_TO_FILE;
		else
			return false;
	}
	if ((v = value_of(get, "FORCECLOSE_VERBOSE")) != NULL) {
		if (!one_of(v, levels, &s->verbose))
			return fail(err, "FORCECLOSE_VERBOSE", v, NULL,
				    ACCEPT_VERBOSE);
	}
	if ((v = value_of(get, "FORCECLOSE_STATS")) != NULL &&
	    !parse_path(s->stats_path, "FORCECLOSE_STATS", v, err,
			ACCEPT_STATS))
		return false;
	if ((v = value_of(get, "FORCECLOSE_MODE")) != NULL) {
		if (!one_of(v, modes, &i))
			return fail(err, "FORCECLOSE_MODE", v, NULL,
				    ACCEPT_MODE);
		s->observe = i == 1;
	}
	if ((v = value_of(get, "FORCECLOSE_REPORT")) != NULL &&
	    !parse_path(s->report_path, "FORCECLOSE_REPORT", v, err,
			ACCEPT_STATS))
		return false;
	if ((v = value_of(get, "FORCECLOSE_REPORT_INTERVAL")) != NULL &&
	    !parse_seconds(v, SETTINGS_REPORT_INTERVAL_MAX,
			   &s->report_interval))
		return fail(err, "FORCECLOSE_REPORT_INTERVAL", v, NULL,
			    ACCEPT_INTERVAL);
	if ((v = value_of(get, "FORCECLOSE_KEEP_DEEPBIND")) != NULL) {
		if (!one_of(v, bools, &i))
			return fail(err, "FORCECLOSE_KEEP_DEEPBIND", v, NULL,
				    ACCEPT_BOOL);
		s->keep_deepbind = i == 1;
	}
	return true;
}

/* Appends text (at most max bytes of it), printable bytes only. */
static size_t put(char *buf, size_t cap, size_t n, const char *text,
		  size_t max)
{
	size_t i;

	for (i = 0; text[i] != '\0' && i < max && n + 1 < cap; i++) {
		char ch = text[i];
		buf[n++] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	return n;
}

size_t settings_error_line(const struct settings_error *err,
			   const char *prefix, const char *suffix, char *buf,
			   size_t cap)
{
	size_t n = 0, vlen = strlen(err->value);

	cap -= 1;	/* room for the newline */
	n = put(buf, cap, n, prefix, SIZE_MAX);
	n = put(buf, cap, n, err->var, SIZE_MAX);
	n = put(buf, cap, n, "=\"", SIZE_MAX);
	n = put(buf, cap, n, err->value, 64);
	if (vlen > 64)
		n = put(buf, cap, n, "...", SIZE_MAX);
	n = put(buf, cap, n, "\" is not valid", SIZE_MAX);
	if (err->why[0] != '\0') {
		n = put(buf, cap, n, " (", SIZE_MAX);
		n = put(buf, cap, n, err->why, SIZE_MAX);
		n = put(buf, cap, n, ")", SIZE_MAX);
	}
	n = put(buf, cap, n, "; accepted: ", SIZE_MAX);
	n = put(buf, cap, n, err->accepts, SIZE_MAX);
	n = put(buf, cap, n, suffix, SIZE_MAX);
	buf[n++] = '\n';
	return n;
}
