/* http_request.c - request heads are rewritten to say `Connection: close`;
 * bodies are counted, never copied. */
#include "http_request.h"

#include <string.h>

#include "http_fields.h"

void http_request_init(struct http_request_stream *s)
{
	memset(s, 0, sizeof *s);
	http_head_init(&s->head, HTTP_HEAD_REQUEST);
	s->phase = HTTP_REQ_HEAD;
}

size_t http_request_scan(struct http_request_stream *s, const uint8_t *p,
			 size_t n, enum http_head_status *status)
{
	return http_head_scan(&s->head, p, n, status);
}

/* What the first pass learns about a head (the second pass rewrites). */
struct head_facts {
	const uint8_t *method;
	size_t method_len;
	const uint8_t *eol;	/* the request line's ending, for added lines */
	size_t eol_len;
	bool has_connection, has_close, upgrade, conn_auth;
	bool close_fields;	/* a line the rewrite may change */
	size_t end;		/* offset of the empty line */
	struct http_framing framing;
};

static void parse_request_line(const uint8_t *head, size_t len, size_t *pos,
			       struct head_facts *f)
{
	const uint8_t *lf;

	/* skip the empty lines that may precede the request line */
	while (head[*pos] == '\r' || head[*pos] == '\n')
		(*pos)++;
	lf = memchr(head + *pos, '\n', len - *pos);
	f->method = head + *pos;
	f->method_len = (size_t)((const uint8_t *)memchr(f->method, ' ',
				 (size_t)(lf - f->method)) - f->method);
	f->eol_len = lf[-1] == '\r' ? 2 : 1;
	f->eol = lf + 1 - f->eol_len;
	*pos = (size_t)(lf + 1 - head);
}

/* Connection-authenticating schemes must keep their connection. */
static bool is_connection_auth(const struct http_field *fl)
{
	size_t n = 0;
	while (n < fl->value_len && fl->value[n] != ' ' && fl->value[n] != '\t')
		n++;
	return http_token_eq(fl->value, n, "ntlm") ||
	       http_token_eq(fl->value, n, "negotiate");
}

static void learn_field(const struct http_field *fl, struct head_facts *f,
			struct http_request_info *info)
{
	const uint8_t *name = fl->line;
	size_t nl = fl->name_len;

	f->close_fields |= http_close_field(name, nl);
	if (http_token_eq(name, nl, "connection")) {
		f->has_connection = true;
		f->has_close |= http_list_has(fl->value, fl->value_len, "close");
		f->upgrade |= http_list_has(fl->value, fl->value_len, "upgrade");
	} else if (http_token_eq(name, nl, "upgrade")) {
		f->upgrade = true;
	} else if (http_token_eq(name, nl, "authorization") ||
		   http_token_eq(name, nl, "proxy-authorization")) {
		f->conn_auth |= is_connection_auth(fl);
	} else if (http_framing_field(fl, &f->framing)) {
		/* a request coding other than chunked is a 400: not ours */
		if (f->framing.has_te && !f->framing.chunked)
			f->framing.bad = true;
	} else if (http_token_eq(name, nl, "host")) {
		info->host = fl->value;
		info->host_len = fl->value_len;
	}
}

/* The same facts, from what the scanner learned of a head that came
 * whole and simple: the request line first, no field the rewrite changes,
 * at most a Host and a plain Content-Length. */
static void facts_from_scan(const struct http_head_facts *sf,
			    const uint8_t *head, size_t len,
			    struct head_facts *f,
			    struct http_request_info *info)
{
	while (head[f->method_len] != ' ')
		f->method_len++;
	f->method = head;
	f->eol_len = sf->flags & HTTP_FACT_CRLF ? 2 : 1;
	f->eol = (const uint8_t *)"\r\n" + 2 - f->eol_len;
	f->end = len - (head[len - 2] == '\r' ? 2 : 1);
	f->framing.has_length = sf->flags & HTTP_FACT_LENGTH;
	f->framing.length = sf->length;
	if (sf->flags & HTTP_FACT_HOST) {
		info->host = head + sf->host_off;
		info->host_len = sf->host_len;
	}
}

size_t http_request_finish_head(struct http_request_stream *s,
				const uint8_t *head, size_t len, uint8_t *out,
				struct http_request_info *info)
{
	struct head_facts f;
	struct http_field fl;
	size_t pos = 0, start;

	memset(info, 0, sizeof *info);
	memset(&f, 0, sizeof f);
	if (http_head_facts_hold(&s->head, len)) {
		facts_from_scan(&s->head.facts, head, len, &f, info);
		start = 0;	/* not needed: no line to rewrite */
	} else {
		parse_request_line(head, len, &pos, &f);
		start = pos;
		while (http_next_field(head, len, &pos, &fl))
			learn_field(&fl, &f, info);
		f.end = (size_t)(fl.line - head);
	}

	/* methods are case-sensitive */
	info->method_head = f.method_len == 4 && memcmp(f.method, "HEAD", 4) == 0;
	info->method_connect = f.method_len == 7 &&
			       memcmp(f.method, "CONNECT", 7) == 0;
	if (f.framing.bad || (f.framing.has_length && f.framing.has_te)) {
		info->verdict = HTTP_REQ_INVALID;
	} else if (info->method_connect || f.upgrade || f.conn_auth) {
		info->verdict = HTTP_REQ_LEFT_ALONE;
	} else if (s->leave_host_alone != NULL &&
		   s->leave_host_alone(s->host_ctx, info->host,
				       info->host_len)) {
		info->verdict = HTTP_REQ_LEFT_ALONE;
		info->host_left_alone = true;
	} else {
		info->verdict = HTTP_REQ_REWRITTEN;
		http_head_init(&s->head, HTTP_HEAD_REQUEST);
		if (f.framing.chunked) {
			s->phase = HTTP_REQ_BODY_CHUNKED;
			chunked_init(&s->chunk);
		} else if (f.framing.has_length && f.framing.length > 0) {
			s->phase = HTTP_REQ_BODY_LENGTH;
			s->body_left = f.framing.length;
		} else {
			s->phase = HTTP_REQ_HEAD;
		}
		info->said_close = f.has_close;
		if (s->observe) {
			memcpy(out, head, len);
			return len;
		}
		{
			struct http_close_rewrite rw = {
				.has_connection = f.has_connection,
				.has_close = f.has_close,
				.proxy = true,
				.eol = f.eol,
				.eol_len = f.eol_len,
			};
			size_t o;
			if (!f.close_fields) {
				info->close_added = true;
				return http_add_close(head, len, f.end, out,
						      f.eol, f.eol_len);
			}
			memcpy(out, head, start);
			o = http_rewrite_fields(head, len, start, out, start, &rw);
			info->close_added = rw.close_added;
			info->lines_changed = rw.lines_changed;
			return o;
		}
	}
	s->phase = HTTP_REQ_OPAQUE;
	memcpy(out, head, len);
	return len;
}

size_t http_request_pass(struct http_request_stream *s, const uint8_t *p,
			 size_t n)
{
	enum chunked_status st;
	size_t k;

	switch (s->phase) {
	case HTTP_REQ_BODY_LENGTH:
		k = n < s->body_left ? n : (size_t)s->body_left;
		s->body_left -= k;
		if (s->body_left == 0)
			s->phase = HTTP_REQ_HEAD;
		return k;
	case HTTP_REQ_BODY_CHUNKED:
		k = chunked_feed(&s->chunk, p, n, &st);
		if (st == CHUNKED_DONE)
			s->phase = HTTP_REQ_HEAD;
		if (st != CHUNKED_INVALID)
			return k;
		s->phase = HTTP_REQ_OPAQUE;
		return n;
	case HTTP_REQ_OPAQUE:
		return n;
	default:
		return 0;
	}
}
