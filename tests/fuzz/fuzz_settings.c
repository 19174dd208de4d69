/* fuzz_settings.c - libFuzzer target for the settings parser
 * (settings_parse, with filter_parse under it) and its error line.
 *
 * Input: the values of the NVARS FORCECLOSE_* variables in settings.c's
 * order (names[] below),
 * separated by NUL bytes; a variable with no value is unset.  Byte 0
 * picks which of the first values are given at all (bit i: variable i set),
 * so "unset" and "empty" are both reached.  Oracles, each an abort():
 *  1. it terminates and is deterministic: a second parse gives the same
 *     verdict and the same settings;
 *  2. a refusal names one of the NVARS variables, points at that variable's
 *     own value, and its message is one line (one newline, at the end) of
 *     printable bytes within the buffer, whatever the buffer's size;
 *  3. an accepted value is one of the accepted forms: action 0-2, verbose
 *     0-3, log 0-2, a LOG file or STATS path absolute and equal to the
 *     value, filters within their limits, every entry's text inside the
 *     filter's text; DISABLE=1 means nothing else was looked at. */
#include "fuzz_common.h"

#include "settings.h"

#define NVARS 12
static const char *const names[NVARS] = {
	"FORCECLOSE_DISABLE", "FORCECLOSE_ACTION", "FORCECLOSE_ONLY",
	"FORCECLOSE_EXCEPT",  "FORCECLOSE_INHERIT", "FORCECLOSE_LOG",
	"FORCECLOSE_VERBOSE", "FORCECLOSE_STATS",  "FORCECLOSE_MODE",
	"FORCECLOSE_REPORT", "FORCECLOSE_REPORT_INTERVAL",
	"FORCECLOSE_KEEP_DEEPBIND",
};

static char *values[NVARS];		/* NULL: unset */
static unsigned lookups;	/* how many times get() was called */

static const char *get(const char *name)
{
	int i;

	lookups++;
	for (i = 0; i < NVARS; i++)
		if (strcmp(name, names[i]) == 0)
			return values[i];
	CHECK(!"settings_parse asked for a variable it does not document");
	return NULL;
}

static void check_filter(const struct filter *f)
{
	unsigned i, hosts = 0;

	CHECK(f->n <= FILTER_ENTRIES_MAX);
	for (i = 0; i < f->n; i++) {
		const struct filter_entry *e = &f->e[i];
		CHECK(e->kind <= FILTER_HOST);
		CHECK((size_t)e->text_off + e->text_len <= sizeof f->text);
		if (e->kind == FILTER_IPV4)
			CHECK(e->prefix <= 32);
		if (e->kind == FILTER_IPV6)
			CHECK(e->prefix <= 128);
		hosts += e->kind == FILTER_HOST;
	}
	CHECK(hosts == f->n_hosts);
}

static void check_line(const struct settings_error *err, size_t cap)
{
	char *buf = malloc(cap);
	size_t n, i, newlines = 0;

	CHECK(buf != NULL);
	n = settings_error_line(err, "libforceclose: ",
				"; libforceclose stays inactive", buf, cap);
	CHECK(n > 0 && n < cap);
	CHECK(buf[n - 1] == '\n');
	for (i = 0; i < n; i++) {
		newlines += buf[i] == '\n';
		CHECK(buf[i] == '\n' || (buf[i] >= 0x20 && buf[i] < 0x7f));
	}
	CHECK(newlines == 1);
	free(buf);
}

static bool same(const struct settings *a, const struct settings *b)
{
	return a->disabled == b->disabled && a->action == b->action &&
	       a->has_only == b->has_only && a->has_except == b->has_except &&
	       a->inherit == b->inherit && a->log == b->log &&
	       a->verbose == b->verbose &&
	       strcmp(a->log_path, b->log_path) == 0 &&
	       strcmp(a->stats_path, b->stats_path) == 0 &&
	       (!a->has_only || a->only.n == b->only.n) &&
	       (!a->has_except || a->except.n == b->except.n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct settings s1, s2;
	struct settings_error e1, e2;
	const uint8_t *p, *end;
	bool ok1, ok2;
	int i, which;

	if (size < 1)
		return 0;
	p = data + 1;
	end = data + size;
	for (i = 0; i < NVARS; i++) {
		const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
		size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
		values[i] = NULL;
		if (data[0] >> (i % 8) & 1) {	/* 8..10 follow 0..2 */
			values[i] = malloc(n + 1);
			CHECK(values[i] != NULL);
			memcpy(values[i], p, n);
			values[i][n] = '\0';
		}
		p = nul ? nul + 1 : end;
	}

	lookups = 0;
	ok1 = settings_parse(&s1, get, &e1);
	ok2 = settings_parse(&s2, get, &e2);
	CHECK(ok1 == ok2);
	if (!ok1) {
		which = -1;
		for (i = 0; i < NVARS; i++)
			if (e1.var == names[i] || strcmp(e1.var, names[i]) == 0)
				which = i;
		CHECK(which >= 0);
		CHECK(e1.value == values[which]);
		CHECK(e2.var == e1.var || strcmp(e2.var, e1.var) == 0);
		check_line(&e1, 768);	/* the library's buffer */
		check_line(&e1, 64);
		check_line(&e1, 2);
	} else {
		CHECK(same(&s1, &s2));
		CHECK(s1.action >= 0 && s1.action <= 2);
		CHECK(s1.verbose >= 0 && s1.verbose <= 3);
		CHECK(s1.log >= LOG_TO_STDERR && s1.log <= LOG_TO_FILE);
		if (s1.disabled) {
			CHECK(values[0] != NULL && strcmp(values[0], "1") == 0);
			CHECK(lookups == 2);	/* DISABLE alone, twice */
		}
		if (s1.log == LOG_TO_FILE)
			CHECK(s1.log_path[0] == '/' && values[5] != NULL &&
			      strcmp(s1.log_path, values[5]) == 0);
		if (s1.stats_path[0] != '\0')
			CHECK(s1.stats_path[0] == '/' && values[7] != NULL &&
			      strcmp(s1.stats_path, values[7]) == 0);
		if (s1.has_only)
			check_filter(&s1.only);
		if (s1.has_except)
			check_filter(&s1.except);
	}
	for (i = 0; i < NVARS; i++)
		free(values[i]);
	return 0;
}
