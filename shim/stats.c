/* stats.c - FORCECLOSE_STATS: one JSON line per process image, appended
 * with raw system calls (it runs in the destructor and in exec hooks). */
#define _GNU_SOURCE
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "config.h"
#include "log.h"

struct stats stats;

static const char *const reason_names[GAVE_UP_REASONS] = {
	"not_http", "left_alone", "excluded_host", "unseen_bytes",
	"bad_response", "unpaired_response", "moved", "no_memory",
	"send_failed",
};

const char *stats_reason_name(enum stats_reason r)
{
	return r < GAVE_UP_REASONS ? reason_names[r] : "unknown";
}

/* A record is one line of at most 2,048 bytes.  The program name, the
 * one field of any length, is cut at PROGRAM_MAX bytes of JSON, which
 * leaves room for every other field at its largest (about 900 bytes with
 * every counter at 20 digits); should a record still not fit, `full` is
 * set and no record is written rather than a broken one. */
#define PROGRAM_MAX 512

struct json {
	char buf[2048];
	size_t n;
	bool full;
};

static void put(struct json *j, const char *s)
{
	size_t k = strlen(s);

	if (j->n + k < sizeof j->buf) {
		memcpy(j->buf + j->n, s, k);
		j->n += k;
	} else {
		j->full = true;
	}
}

/* Length of the valid UTF-8 sequence starting at s (2-4 bytes), else 0.
 * Stops at a NUL: it is not a continuation byte. */
static size_t utf8_length(const unsigned char *s)
{
	size_t n, i;
	unsigned long cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, past U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string of at most max bytes (quotes included): quotes,
 * backslashes and control bytes escaped; bytes that are not UTF-8 (a
 * program name may hold any) become '?', as in log lines, so that the
 * line stays valid JSON.  A string cut short ends in "...". */
static void put_string(struct json *j, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t end = j->n + max - 4;	/* room for ..." */

	if (max < 16 || j->n + max >= sizeof j->buf) {
		j->full = true;
		return;
	}
	put(j, "\"");
	/* each step adds at most 6 bytes (\u00XX) */
	while (*p != '\0' && j->n + 6 <= end) {
		unsigned char ch = *p;
		size_t k;
		if (ch == '"' || ch == '\\') {
			j->buf[j->n++] = '\\';
			j->buf[j->n++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			char esc[7] = { '\\', 'u', '0', '0', hex[ch >> 4],
					hex[ch & 15], 0 };
			put(j, esc);
		} else if (ch < 0x80) {
			j->buf[j->n++] = (char)ch;
		} else if ((k = utf8_length(p)) != 0) {
			memcpy(j->buf + j->n, p, k);	/* room: 6 > 4 */
			j->n += k;
			p += k;
			continue;
		} else {
			j->buf[j->n++] = '?';
		}
		p++;
	}
	if (*p != '\0')
		put(j, "...");
	put(j, "\"");
}

static void put_number(struct json *j, unsigned long v)
{
	char digits[24];
	size_t n = sizeof digits - 1;

	digits[n] = '\0';
	do
		digits[--n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	put(j, digits + n);
}

static void field(struct json *j, const char *name, atomic_ulong *counter)
{
	if (j->buf[j->n - 1] != '{')
		put(j, ",");
	put_string(j, name, 64);
	put(j, ":");
	put_number(j, atomic_load_explicit(counter, memory_order_relaxed));
}

void stats_write(const char *event)
{
	static const char *const actions[3] = { "shutdown", "close", "none" };
	static atomic_bool refused;
	int saved = errno, i, fd;
	struct json j = { .n = 0 };

	if (!config.stats || config.disabled)
		return;
	put(&j, "{\"pid\":");
	put_number(&j, (unsigned long)syscall(SYS_getpid));
	put(&j, ",\"program\":");
	put_string(&j, program_invocation_short_name, PROGRAM_MAX);
	put(&j, ",\"event\":");
	put_string(&j, event, 16);
	field(&j, "connections_tracked", &stats.connections_tracked);
	field(&j, "connections_excluded", &stats.connections_excluded);
	field(&j, "requests_rewritten", &stats.requests_rewritten);
	field(&j, "close_added", &stats.close_added);
	field(&j, "close_rewritten", &stats.close_rewritten);
	field(&j, "requests_left_alone", &stats.requests_left_alone);
	field(&j, "responses_rewritten", &stats.responses_rewritten);
	put(&j, ",\"teardowns\":{");
	for (i = 0; i < 3; i++)
		field(&j, actions[i], &stats.teardowns[i]);
	put(&j, "},\"given_up\":{");
	for (i = 0; i < GAVE_UP_REASONS; i++)
		field(&j, reason_names[i], &stats.given_up[i]);
	put(&j, "}");
	field(&j, "bytes_inspected", &stats.bytes_inspected);
	put(&j, ",\"tls\":{");
	field(&j, "sockets", &stats.tls_sockets);
	field(&j, "sessions_tracked", &stats.tls_tracked);
	field(&j, "teardowns", &stats.tls_teardowns);
	put(&j, "}");
	put(&j, "}\n");

	if (j.full)
		goto out;	/* never a broken line */
	fd = log_open_append(settings.stats_path, "FORCECLOSE_STATS", &refused);
	if (fd >= 0) {
		/* one write with O_APPEND: lines of processes sharing the
		 * file do not interleave */
		syscall(SYS_write, (int)fd, j.buf, j.n);
		syscall(SYS_close, (int)fd);
	}
out:
	errno = saved;
}

void stats_reset(void)
{
	memset(&stats, 0, sizeof stats);
}

const char *stats_count_request(const struct http_request_info *info)
{
	switch (info->verdict) {
	case HTTP_REQ_REWRITTEN:
		stats_add(&stats.requests_rewritten, 1);
		if (info->close_added)
			stats_add(&stats.close_added, 1);
		if (info->lines_changed > 0)
			stats_add(&stats.close_rewritten, 1);
		return info->close_added ? "%s request rewritten "
					   "(Connection: close added)" :
		       info->lines_changed ? "%s request rewritten "
					     "(connection fields changed)" :
					     "%s request already said close";
	case HTTP_REQ_LEFT_ALONE:
		stats_add(&stats.requests_left_alone, 1);
		return info->host_left_alone ? "%s request left alone (Host "
					       "filtered)" :
					       "%s request left alone (tunnel "
					       "or connection-bound auth)";
	default:
		return NULL;
	}
}
