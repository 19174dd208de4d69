/* http_fields.h - pure helpers for HTTP field syntax, shared by the request
 * rewriter and the response tracker.  No allocation, no descriptors. */
#ifndef FORCECLOSE_HTTP_FIELDS_H
#define FORCECLOSE_HTTP_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 9110 tchar, as a bit per byte */
extern const uint32_t http_tchar_bits[8];

static inline bool http_is_tchar(uint8_t c)
{
	return (http_tchar_bits[c >> 5] >> (c & 31)) & 1;
}

/* Case-insensitive compare of p[0..n) with a lower-case literal.  The
 * length test first: with a literal it is a constant, and most field
 * names fail it. */
bool http_token_eq_bytes(const uint8_t *p, size_t n, const char *lower);
static inline bool http_token_eq(const uint8_t *p, size_t n,
				 const char *lower)
{
	return __builtin_strlen(lower) == n && http_token_eq_bytes(p, n, lower);
}

/* One field line of a complete head: name, trimmed value, line ending. */
struct http_field {
	const uint8_t *line;	/* start of the line */
	size_t line_len;	/* including its line ending */
	size_t name_len;
	const uint8_t *value;	/* trimmed of leading and trailing OWS */
	size_t value_len;
	size_t eol_len;		/* 1 (LF) or 2 (CRLF) */
};

/* Splits the line at head[*pos] (which must be complete and validated).
 * Returns false at the empty line that ends the head.  Advances *pos. */
bool http_next_field(const uint8_t *head, size_t len, size_t *pos,
		     struct http_field *f);

/* Is `token` (lower case) an element of the comma list value? */
bool http_list_has(const uint8_t *val, size_t len, const char *token);

/* Last element of a comma list (for Transfer-Encoding). */
void http_list_last(const uint8_t *val, size_t len, const uint8_t **elem,
		    size_t *elem_len);

/* Rewrites one Connection field value: drops `keep-alive` elements, keeps
 * the first `close` in the whole head (*close_kept tracks it across lines),
 * appends `close` when add_close, keeps every other element in order with
 * its original separator, so the value grows by 7 bytes at most.  Writes
 * the new value to out (room: len + 7) and returns its length; 0 means the
 * line should go.  *changed tells whether anything differs. */
size_t http_connection_rewrite(const uint8_t *val, size_t len, uint8_t *out,
			       bool *close_kept, bool add_close,
			       bool *changed);

/* Copies the field lines of a complete head, from offset pos to its end,
 * to out + o, rewritten to say close: Connection values as above,
 * Keep-Alive lines dropped, Proxy-Connection set to close (requests), and
 * "Connection: close" added before the empty line when there was no
 * Connection field.  Output grows by HTTP_CLOSE_GROWTH_MAX at most, apart
 * from Proxy-Connection values.  Returns the new output length. */
#define HTTP_CLOSE_GROWTH_MAX 24
struct http_close_rewrite {
	bool has_connection;	/* inputs, from a first pass */
	bool has_close;
	bool proxy;
	const uint8_t *eol;	/* line ending for an added line */
	size_t eol_len;
	bool close_added;	/* results */
	unsigned lines_changed;
};
size_t http_rewrite_fields(const uint8_t *head, size_t len, size_t pos,
			   uint8_t *out, size_t o,
			   struct http_close_rewrite *rw);

/* What http_rewrite_fields does to a head none of whose lines it changes
 * (no Connection, Keep-Alive or Proxy-Connection line), in one copy:
 * "Connection: close" goes in before the empty line at offset `end`. */
size_t http_add_close(const uint8_t *head, size_t len, size_t end,
		      uint8_t *out, const uint8_t *eol, size_t eol_len);

/* Is a field name one of those http_rewrite_fields may change? */
bool http_close_field(const uint8_t *name, size_t len);

/* What Content-Length and Transfer-Encoding fields say about a message's
 * body, gathered over the field lines of a head. */
struct http_framing {
	bool has_length;	/* Content-Length seen */
	bool has_te;		/* Transfer-Encoding seen */
	bool chunked;		/* the last coding is chunked */
	bool bad;		/* an invalid or conflicting length */
	uint64_t length;
};

/* Learns from one field line; false when it is neither field. */
bool http_framing_field(const struct http_field *fl, struct http_framing *f);

/* Parses a Content-Length value (digits, or a list of equal values).
 * Returns false when invalid, conflicting or over 2^62. */
bool http_parse_length(const uint8_t *val, size_t len, uint64_t *out);

#endif
