/* http_response.c - response framing (RFC 9112 6.3) and the rewrite of
 * final response heads. */
#include "http_response.h"

#include <string.h>

void http_response_init(struct http_response_stream *s)
{
	memset(s, 0, sizeof *s);
	http_head_init(&s->head, HTTP_HEAD_RESPONSE);
	s->phase = HTTP_RESP_HEAD;
}

size_t http_response_scan(struct http_response_stream *s, const uint8_t *p,
			  size_t n, enum http_head_status *status)
{
	return http_head_scan(&s->head, p, n, status);
}

struct head_facts {
	unsigned status;
	size_t start;		/* offset of the first field line */
	const uint8_t *eol;
	size_t eol_len;
	bool has_connection, has_close;
	bool close_fields;	/* a line the rewrite may change */
	size_t end;		/* offset of the empty line */
	struct http_framing framing;
};

static void learn(const uint8_t *head, size_t len, struct head_facts *f)
{
	const uint8_t *lf = memchr(head, '\n', len);
	struct http_field fl;
	size_t pos;

	/* "HTTP/1.x NNN" was validated by the scanner */
	f->status = (unsigned)(head[9] - '0') * 100 +
		    (unsigned)(head[10] - '0') * 10 + (unsigned)(head[11] - '0');
	f->eol_len = lf[-1] == '\r' ? 2 : 1;
	f->eol = lf + 1 - f->eol_len;
	pos = f->start = (size_t)(lf + 1 - head);
	while (http_next_field(head, len, &pos, &fl)) {
		const uint8_t *name = fl.line;
		size_t nl = fl.name_len;

		f->close_fields |= http_close_field(name, nl);
		if (http_token_eq(name, nl, "connection")) {
			f->has_connection = true;
			f->has_close |= http_list_has(fl.value, fl.value_len,
						      "close");
		} else {
			http_framing_field(&fl, &f->framing);
		}
	}
	f->end = (size_t)(fl.line - head);
}

/* The same facts, from what the scanner learned of a head that came
 * whole and simple (no field the rewrite changes, at most one plain
 * Content-Length). */
static void facts_from_scan(const struct http_head_facts *sf,
			    const uint8_t *head, size_t len,
			    struct head_facts *f)
{
	f->status = (unsigned)(head[9] - '0') * 100 +
		    (unsigned)(head[10] - '0') * 10 + (unsigned)(head[11] - '0');
	f->eol_len = sf->flags & HTTP_FACT_CRLF ? 2 : 1;
	f->eol = (const uint8_t *)"\r\n" + 2 - f->eol_len;
	f->end = len - (head[len - 2] == '\r' ? 2 : 1);
	f->framing.has_length = sf->flags & HTTP_FACT_LENGTH;
	f->framing.length = sf->length;
}

size_t http_response_finish_head(struct http_response_stream *s,
				 const uint8_t *head, size_t len, bool to_head,
				 uint8_t *out,
				 struct http_response_info *info)
{
	struct head_facts f;

	memset(info, 0, sizeof *info);
	memset(&f, 0, sizeof f);
	if (http_head_facts_hold(&s->head, len))
		facts_from_scan(&s->head.facts, head, len, &f);
	else
		learn(head, len, &f);
	info->status = f.status;
	http_head_init(&s->head, HTTP_HEAD_RESPONSE);

	if (f.status < 100 || f.status > 599 || f.framing.bad ||
	    (f.framing.has_length && f.framing.has_te)) {
		info->verdict = HTTP_RESP_INVALID;
	} else if (f.status == 101) {
		info->verdict = HTTP_RESP_TUNNEL;
	} else if (f.status < 200) {
		info->verdict = HTTP_RESP_INTERIM;
		s->phase = HTTP_RESP_HEAD;
		memcpy(out, head, len);
		return len;
	} else {
		struct http_close_rewrite rw = {
			.has_connection = f.has_connection,
			.has_close = f.has_close,
			.eol = f.eol,
			.eol_len = f.eol_len,
		};
		size_t o;

		info->verdict = HTTP_RESP_FINAL;
		if (to_head || f.status == 204 || f.status == 304 ||
		    (f.framing.has_length && f.framing.length == 0)) {
			info->complete = true;
			s->phase = HTTP_RESP_HEAD;
		} else if (f.framing.chunked) {
			s->phase = HTTP_RESP_BODY_CHUNKED;
			chunked_init(&s->chunk);
		} else if (f.framing.has_length) {
			s->phase = HTTP_RESP_BODY_LENGTH;
			s->body_left = f.framing.length;
		} else {
			/* the body runs to end of file: nothing to follow */
			s->phase = HTTP_RESP_OPAQUE;
		}
		info->said_close = f.has_close || s->phase == HTTP_RESP_OPAQUE;
		if (s->observe) {
			memcpy(out, head, len);
			return len;
		}
		if (!f.close_fields) {
			info->close_added = true;
			return http_add_close(head, len, f.end, out, f.eol,
					      f.eol_len);
		}
		memcpy(out, head, f.start);
		o = http_rewrite_fields(head, len, f.start, out, f.start, &rw);
		info->close_added = rw.close_added;
		info->lines_changed = rw.lines_changed;
		return o;
	}
	s->phase = HTTP_RESP_OPAQUE;
	memcpy(out, head, len);
	return len;
}

/* Could a field line beginning p[0, n) (no colon yet) be one the rewrite
 * changes? */
static bool may_be_close_field(const uint8_t *p, size_t n)
{
	static const char *const names[] = { "connection", "keep-alive",
					       "proxy-connection" };
	size_t i, k;

	for (k = 0; k < 3; k++) {
		for (i = 0; i < n && names[k][i] != '\0'; i++)
			if ((p[i] | 0x20) != names[k][i])
				break;
		if (i == n)
			return true;
	}
	return false;
}

size_t http_response_stable(const uint8_t *head, size_t len)
{
	const uint8_t *lf = memchr(head, '\n', len), *colon;
	size_t pos, line;

	if (lf == NULL)
		return len;	/* the status line is copied as it is */
	pos = (size_t)(lf + 1 - head);
	while (pos < len) {
		lf = memchr(head + pos, '\n', len - pos);
		line = lf ? (size_t)(lf + 1 - (head + pos)) : len - pos;
		colon = memchr(head + pos, ':', line);
		if (head[pos] == '\r' || head[pos] == '\n' ||
		    (colon == NULL ?
		     may_be_close_field(head + pos, line) :
		     http_close_field(head + pos, (size_t)(colon - (head + pos)))))
			break;	/* the lines the rewrite changes, the end */
		pos += line;
	}
	return pos;
}

size_t http_response_pass(struct http_response_stream *s, const uint8_t *p,
			  size_t n, bool *complete)
{
	enum chunked_status st;
	size_t k;

	*complete = false;
	switch (s->phase) {
	case HTTP_RESP_BODY_LENGTH:
		k = n < s->body_left ? n : (size_t)s->body_left;
		s->body_left -= k;
		if (s->body_left == 0) {
			s->phase = HTTP_RESP_HEAD;
			*complete = true;
		}
		return k;
	case HTTP_RESP_BODY_CHUNKED:
		k = chunked_feed(&s->chunk, p, n, &st);
		if (st == CHUNKED_DONE) {
			s->phase = HTTP_RESP_HEAD;
			*complete = true;
		}
		if (st != CHUNKED_INVALID)
			return k;
		s->phase = HTTP_RESP_OPAQUE;
		return n;
	case HTTP_RESP_OPAQUE:
		return n;
	default:
		return 0;
	}
}
