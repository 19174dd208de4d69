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
	s->facts.flags = HTTP_FACT_SIMPLE;
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
	switch (state) {
	case S_VALUE:
	case S_REASON:
		return http_skip_text(p, 0, n);
	case S_NAME:
	case S_METHOD:
		return http_skip_tchar(p, 0, n);
	case S_TARGET:
		return http_skip_visible(p, 0, n);
	}
	return 0;
}

/* "HTTP/1.0" or "HTTP/1.1" at p[j], with at least 8 bytes before end. */
static bool is_version(const uint8_t *p, size_t j, size_t end)
{
	return end - j >= 8 && memcmp(p + j, version, 7) == 0 &&
	       (p[j + 7] == '0' || p[j + 7] == '1');
}

/* The line's length with its LF when a whole line ending (CRLF or LF)
 * begins at p[j], before n; else 0. */
static size_t line_end(const uint8_t *p, size_t j, size_t n)
{
	if (j < n && p[j] == '\n')
		return j + 1;
	if (n - j >= 2 && p[j] == '\r' && p[j + 1] == '\n')
		return j + 2;
	return 0;
}

/* Validates a whole line of this state at p[0, n), its ending included,
 * in one pass (the ending is the first byte out of class: CR and LF are
 * neither text nor visible).  Returns its length with its LF, or 0 when
 * it is not whole here or not valid; *name_len: a field name's length. */
static size_t valid_line(uint8_t state, const uint8_t *p, size_t n,
			 size_t *name_len)
{
	size_t j = 0, k;

	switch (state) {
	case S_FIELD_START:
		j = http_skip_tchar(p, j, n);
		if (j == 0 || j == n || p[j] != ':')
			return 0;
		*name_len = j;
		return line_end(p, http_skip_text(p, j + 1, n), n);
	case S_REQ_START:
		j = http_skip_tchar(p, j, n);
		if (j == 0 || j == n || p[j] != ' ')
			return 0;
		k = ++j;
		j = http_skip_visible(p, j, n);
		if (j == k || j == n || p[j] != ' ' || !is_version(p, j + 1, n))
			return 0;
		return line_end(p, j + 9, n);
	default:	/* S_RESP_VERSION */
		if (!is_version(p, 0, n) || n < 13 || p[8] != ' ')
			return 0;
		for (j = 9; j < 12; j++)
			if (p[j] < '0' || p[j] > '9')
				return 0;
		if (p[j] == ' ')
			j = http_skip_text(p, j + 1, n);
		return line_end(p, j, n);
	}
}

/* Learns from a whole, valid field line at head offset `off` (p[0, len),
 * a name of nl bytes); see struct http_head_facts.  A name is told by its
 * length first: most fail that. */
static void learn_line(struct http_head_facts *f, uint32_t off,
		       const uint8_t *p, size_t nl, size_t len)
{
	const uint8_t *val = p + nl + 1;
	size_t vl = len - nl - 1 - (p[len - 2] == '\r' ? 2 : 1);
	bool repeated;

	switch (nl) {
	case 4:
		if (!http_token_eq(p, nl, "host"))
			return;
		repeated = f->flags & HTTP_FACT_HOST;
		f->flags |= HTTP_FACT_HOST;
		break;
	case 14:
		if (!http_token_eq(p, nl, "content-length"))
			return;
		repeated = f->flags & HTTP_FACT_LENGTH;
		f->flags |= HTTP_FACT_LENGTH;
		break;
	case 7: case 10: case 13: case 16: case 17: case 19:
		if (http_token_eq(p, nl, "upgrade") ||
		    http_close_field(p, nl) ||
		    http_token_eq(p, nl, "authorization") ||
		    http_token_eq(p, nl, "transfer-encoding") ||
		    http_token_eq(p, nl, "proxy-authorization"))
			f->flags &= ~HTTP_FACT_SIMPLE;
		return;
	default:
		return;
	}
	http_trim(&val, &vl);
	if (repeated) {
		f->flags &= ~HTTP_FACT_SIMPLE;
	} else if (nl == 4) {
		f->host_off = (uint16_t)(off + (size_t)(val - p));
		f->host_len = (uint16_t)vl;
	} else {
		size_t i;
		uint64_t x = 0;
		/* digits only, as http_parse_length's usual case */
		for (i = 0; i < vl && val[i] >= '0' && val[i] <= '9' &&
			    x <= (1ULL << 58); i++)
			x = x * 10 + (uint64_t)(val[i] - '0');
		if (i != vl || vl == 0)
			f->flags &= ~HTTP_FACT_SIMPLE;
		f->length = x;
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
	size_t len, name_len = 0;

	if (s->line_len != 0 || (s->state != S_FIELD_START &&
				 s->state != S_REQ_START &&
				 !(s->state == S_RESP_VERSION && s->pos == 0)))
		return 0;
	if (n > HTTP_LINE_MAX)
		n = HTTP_LINE_MAX;	/* a longer line is the slow path's */
	if (s->state == S_FIELD_START && (p[0] == '\r' || p[0] == '\n')) {
		len = line_end(p, 0, n);
		*complete = len > 0;
		s->facts.flags |= HTTP_FACT_COMPLETE;	/* kept if complete */
	} else {
		len = valid_line(s->state, p, n, &name_len);
	}
	if (len == 0 || len > HTTP_HEAD_MAX - s->total) {
		*complete = false;
		s->facts.flags &= ~HTTP_FACT_COMPLETE;
		return 0;
	}
	if (name_len > 0)
		learn_line(&s->facts, s->total, p, name_len, len);
	else if (s->state != S_FIELD_START && p[len - 2] == '\r')
		s->facts.flags |= HTTP_FACT_CRLF;
	s->total += (uint32_t)len;
	s->state = S_FIELD_START;
	return len;
}

/* The usual case in one loop: a whole head at the start of a stream, in
 * one piece.  The same checks and facts as line by line, without the
 * bookkeeping between lines.  Returns the head's length, or 0 (nothing
 * changed) when it is not all here or anything is unusual: the line by
 * line path then decides, from the same start.  Within HTTP_HEAD_MAX
 * bytes, no line is over HTTP_LINE_MAX (they are equal). */
static size_t whole_head(struct http_head_scanner *s, const uint8_t *p,
			 size_t n)
{
	struct http_head_facts f = { .flags = HTTP_FACT_SIMPLE };
	size_t i, j, len, nl;

	if (n > HTTP_HEAD_MAX)
		n = HTTP_HEAD_MAX;
	i = valid_line(s->state, p, n, &nl);
	if (i == 0)
		return 0;
	if (p[i - 2] == '\r')
		f.flags |= HTTP_FACT_CRLF;
	while (i < n && p[i] != '\r' && p[i] != '\n') {
		j = http_skip_tchar(p, i, n);
		if (j == i || j == n || p[j] != ':')
			return 0;
		len = line_end(p + i, http_skip_text(p + i, j - i + 1, n - i),
			       n - i);
		if (len == 0)
			return 0;
		learn_line(&f, (uint32_t)i, p + i, j - i, len);
		i += len;
	}
	len = line_end(p, i, n);
	if (len == 0)
		return 0;
	f.flags |= HTTP_FACT_COMPLETE;
	s->facts = f;
	s->total = (uint32_t)len;
	s->state = S_FIELD_START;
	return len;
}

size_t http_head_scan(struct http_head_scanner *s, const uint8_t *p,
		      size_t n, enum http_head_status *status)
{
	size_t i;

	if (s->total == 0 && (s->state == S_REQ_START ||
			      (s->state == S_RESP_VERSION && s->pos == 0))) {
		i = whole_head(s, p, n);
		if (i > 0) {
			*status = HTTP_HEAD_COMPLETE;
			return i;
		}
	}

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
		s->facts.flags &= ~HTTP_FACT_SIMPLE;	/* byte by byte */
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
