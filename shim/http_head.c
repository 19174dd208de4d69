/* http_head.c - the head scanner's state machine (RFC 9112 sections 2-5).
 * Strict where parsers disagree (obs-fold, bare CR, space before a colon,
 * control characters): such input is not ours to rewrite. */
#include "http_head.h"

#include <string.h>

#include "http_fields.h"

enum {
	/* request line: method SP target SP HTTP/1.x EOL */
	S_REQ_START,	/* empty lines may precede it (RFC 9112 2.2) */
	S_REQ_START_LF,
	S_METHOD,
	S_TARGET_START,
	S_TARGET,
	S_VERSION,	/* "HTTP/1.x", then the line's end */
	/* status line: HTTP/1.x SP 3DIGIT [SP reason] EOL */
	S_RESP_VERSION,	/* "HTTP/1.x", then SP */
	S_STATUS,
	S_REASON,
	S_LINE_LF,	/* CR seen at the end of the start line */
	/* field lines */
	S_FIELD_START,
	S_NAME,
	S_VALUE,
	S_VALUE_LF,
	S_END_LF,	/* CR seen on the empty line */
};

static const char version[] = "HTTP/1.";

void http_head_init(struct http_head_scanner *s, enum http_head_kind kind)
{
	s->total = 0;
	s->line_len = 0;
	s->pos = 0;
	s->state = kind == HTTP_HEAD_REQUEST ? S_REQ_START : S_RESP_VERSION;
}

/* Field values and reasons: HTAB, SP, VCHAR, obs-text. */
static int is_text(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Bytes that may repeat inside the long parts of a line, where the state
 * does not change: field values (text), names (tchar), request targets
 * (visible).  Skipped in one run rather than one switch per byte. */
static size_t run_length(uint8_t state, const uint8_t *p, size_t n)
{
	size_t j = 0;

	switch (state) {
	case S_VALUE:
	case S_REASON:
		while (j < n && (p[j] >= 0x20 ? p[j] != 0x7f : p[j] == '\t'))
			j++;
		break;
	case S_NAME:
	case S_METHOD:
		while (j < n && http_is_tchar(p[j]))
			j++;
		break;
	case S_TARGET:
		while (j < n && p[j] > 0x20 && p[j] != 0x7f)
			j++;
		break;
	}
	return j;
}

/* Byte classes for the fast path, one table load per byte: field values
 * and reasons (text), request targets (visible), tokens (tchar). */
enum { C_TEXT = 1, C_TARGET = 2, C_TCHAR = 4 };
#define TCHAR_WORD(i) ((i) == 1 ? 0x03ff6cfau : (i) == 2 ? 0xc7fffffeu : \
		       (i) == 3 ? 0x57ffffffu : 0u)
#define CLS(c)                                                             \
	(((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f) ? C_TEXT : 0) |      \
	 ((c) > 0x20 && (c) != 0x7f ? C_TARGET : 0) |                       \
	 ((TCHAR_WORD((c) >> 5) >> ((c) & 31)) & 1 ? C_TCHAR : 0))
#define R4(b) CLS(b), CLS(b + 1), CLS(b + 2), CLS(b + 3)
#define R16(b) R4(b), R4(b + 4), R4(b + 8), R4(b + 12)
#define R64(b) R16(b), R16(b + 16), R16(b + 32), R16(b + 48)
static const uint8_t byte_class[256] = { R64(0), R64(64), R64(128),
					 R64(192) };

/* Skips bytes of a class; j is left at the first other byte. */
#define SKIP(p, j, end, cls)                                           \
	do {                                                           \
		while ((j) < (end) && (byte_class[(p)[j]] & (cls)))    \
			(j)++;                                         \
	} while (0)

/* "HTTP/1.0" or "HTTP/1.1" at p[j], with at least 8 bytes before end. */
static bool is_version(const uint8_t *p, size_t j, size_t end)
{
	return end - j >= 8 && memcmp(p + j, version, 7) == 0 &&
	       (p[j + 7] == '0' || p[j + 7] == '1');
}

/* Is p[0, end) a valid line of this state (without its line ending)? */
static bool line_ok(uint8_t state, const uint8_t *p, size_t end)
{
	size_t j = 0, k;

	switch (state) {
	case S_FIELD_START:
		SKIP(p, j, end, C_TCHAR);
		if (j == 0 || j == end || p[j] != ':')
			return false;
		j++;
		SKIP(p, j, end, C_TEXT);
		return j == end;
	case S_REQ_START:
		SKIP(p, j, end, C_TCHAR);
		if (j == 0 || j == end || p[j] != ' ')
			return false;
		k = ++j;
		SKIP(p, j, end, C_TARGET);
		if (j == k || j == end || p[j] != ' ')
			return false;
		return is_version(p, j + 1, end) && j + 9 == end;
	default:	/* S_RESP_VERSION */
		if (!is_version(p, 0, end) || end < 12 || p[8] != ' ')
			return false;
		for (j = 9; j < 12; j++)
			if (p[j] < '0' || p[j] > '9')
				return false;
		if (j == end)
			return true;
		if (p[j] != ' ')
			return false;
		j++;
		SKIP(p, j, end, C_TEXT);
		return j == end;
	}
}

/* The fast path: a whole line at a line start, checked in tight loops
 * (most heads arrive in one piece).  Returns the line's length with its
 * LF, or 0 when the byte-by-byte path must decide: no whole line here,
 * an empty line before the request line, over a limit, or anything wrong
 * (it then finds the exact offending byte). */
static size_t whole_line(struct http_head_scanner *s, const uint8_t *p,
			 size_t n, bool *complete)
{
	const uint8_t *lf;
	size_t len, end;

	if (s->line_len != 0 || (s->state != S_FIELD_START &&
				 s->state != S_REQ_START &&
				 !(s->state == S_RESP_VERSION && s->pos == 0)))
		return 0;
	lf = memchr(p, '\n', n < HTTP_LINE_MAX ? n : HTTP_LINE_MAX);
	if (lf == NULL)
		return 0;
	len = (size_t)(lf - p) + 1;
	if (len > HTTP_HEAD_MAX - s->total)
		return 0;
	end = len - 1;
	if (end > 0 && p[end - 1] == '\r')
		end--;
	if (end == 0) {
		if (s->state != S_FIELD_START)
			return 0;
		*complete = true;
	} else if (!line_ok(s->state, p, end)) {
		return 0;
	}
	s->total += (uint32_t)len;
	s->state = S_FIELD_START;
	return len;
}

size_t http_head_scan(struct http_head_scanner *s, const uint8_t *p,
		      size_t n, enum http_head_status *status)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c;
		size_t run;
		bool complete = false;

		if (s->line_len == 0) {
			size_t k = whole_line(s, p + i, n - i, &complete);
			if (complete) {
				*status = HTTP_HEAD_COMPLETE;
				return i + k;
			}
			if (k > 0) {
				i += k - 1;
				continue;
			}
		}
		run = run_length(s->state, p + i, n - i);

		if (run > 0) {
			size_t room = HTTP_LINE_MAX - s->line_len;
			if (HTTP_HEAD_MAX - s->total < room)
				room = HTTP_HEAD_MAX - s->total;
			if (run > room) {
				i += room;
				goto invalid;
			}
			s->total += (uint32_t)run;
			s->line_len += (uint32_t)run;
			i += run;
			if (i == n)
				break;
		}
		c = p[i];
		if (++s->total > HTTP_HEAD_MAX || ++s->line_len > HTTP_LINE_MAX)
			goto invalid;
		switch (s->state) {
		case S_REQ_START:
			if (c == '\r')
				s->state = S_REQ_START_LF;
			else if (c == '\n')
				s->line_len = 0;
			else if (http_is_tchar(c))
				s->state = S_METHOD;
			else
				goto invalid;
			break;
		case S_REQ_START_LF:
			if (c != '\n')
				goto invalid;
			s->line_len = 0;
			s->state = S_REQ_START;
			break;
		case S_METHOD:
			if (c == ' ')
				s->state = S_TARGET_START;
			else if (!http_is_tchar(c))
				goto invalid;
			break;
		case S_TARGET_START:
		case S_TARGET:
			if (c == ' ' && s->state == S_TARGET) {
				s->state = S_VERSION;
				s->pos = 0;
			} else if (c <= 0x20 || c == 0x7f) {
				goto invalid;
			} else {
				s->state = S_TARGET;
			}
			break;
		case S_VERSION:
		case S_RESP_VERSION:
			if (s->pos < sizeof version - 1) {
				if (c != (uint8_t)version[s->pos])
					goto invalid;
			} else if (s->pos == sizeof version - 1) {
				if (c != '0' && c != '1')
					goto invalid;
			} else if (s->state == S_RESP_VERSION) {
				if (c != ' ')
					goto invalid;
				s->state = S_STATUS;
				s->pos = 0;
				break;
			} else if (c == '\r') {
				s->state = S_LINE_LF;
			} else if (c == '\n') {
				s->state = S_FIELD_START;
				s->line_len = 0;
			} else {
				goto invalid;
			}
			s->pos++;
			break;
		case S_STATUS:
			if (s->pos < 3) {
				if (c < '0' || c > '9')
					goto invalid;
				s->pos++;
			} else if (c == ' ') {
				s->state = S_REASON;
			} else if (c == '\r') {
				s->state = S_LINE_LF;
			} else if (c == '\n') {
				s->state = S_FIELD_START;
				s->line_len = 0;
			} else {
				goto invalid;
			}
			break;
		case S_REASON:
			if (c == '\r')
				s->state = S_LINE_LF;
			else if (c == '\n') {
				s->state = S_FIELD_START;
				s->line_len = 0;
			} else if (!is_text(c))
				goto invalid;
			break;
		case S_LINE_LF:
		case S_VALUE_LF:
			if (c != '\n')
				goto invalid;
			s->state = S_FIELD_START;
			s->line_len = 0;
			break;
		case S_FIELD_START:
			if (c == '\r')
				s->state = S_END_LF;
			else if (c == '\n')
				goto complete;
			else if (http_is_tchar(c))	/* SP here is obs-fold */
				s->state = S_NAME;
			else
				goto invalid;
			break;
		case S_NAME:
			if (c == ':')
				s->state = S_VALUE;
			else if (!http_is_tchar(c))
				goto invalid;
			break;
		case S_VALUE:
			if (c == '\r')
				s->state = S_VALUE_LF;
			else if (c == '\n') {
				s->state = S_FIELD_START;
				s->line_len = 0;
			} else if (!is_text(c))
				goto invalid;
			break;
		case S_END_LF:
			if (c != '\n')
				goto invalid;
			goto complete;
		}
	}
	*status = HTTP_HEAD_MORE;
	return n;
complete:
	*status = HTTP_HEAD_COMPLETE;
	return i + 1;
invalid:
	*status = HTTP_HEAD_INVALID;
	return i;
}
