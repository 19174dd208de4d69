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

/* Drops leading and trailing OWS (SP, HTAB) from p[0, *n). */
static inline void http_trim(const uint8_t **p, size_t *n)
{
	while (*n > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/* Eight bytes at a time, each byte's test exact (seven-bit sums, so no
 * carry crosses a byte): a mask with bit 7 set in the bytes that stop a
 * run, the first of them at the lowest set bit (the highest on a
 * big-endian machine). */
#define HTTP_ONES 0x0101010101010101ULL
#define HTTP_HIGH (0x80 * HTTP_ONES)
#define HTTP_LOW7 (0x7f * HTTP_ONES)
static inline uint64_t http_load8(const uint8_t *p)
{
	uint64_t w;
	__builtin_memcpy(&w, p, 8);
	return w;
}
/* bit 7 where the byte equals c */
static inline uint64_t http_bytes_eq(uint64_t w, uint8_t c)
{
	uint64_t d = w ^ (c * HTTP_ONES);
	return ~(((d & HTTP_LOW7) + HTTP_LOW7) | d) & HTTP_HIGH;
}
/* bit 7 where the byte is below lo (lo <= 0x80: obs-text is not) */
static inline uint64_t http_bytes_below(uint64_t w, uint8_t lo)
{
	return ~((w & HTTP_LOW7) + (0x80 - lo) * HTTP_ONES) & ~w & HTTP_HIGH;
}
/* The offset of the byte a non-zero mask marks first. */
static inline size_t http_first_marked(uint64_t mask)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (size_t)__builtin_clzll(mask) / 8;
#else
	return (size_t)__builtin_ctzll(mask) / 8;
#endif
}

/* Skips field-value text (HTAB, SP, VCHAR, obs-text) from p[j]; returns
 * the offset of the first other byte (a line's CR or LF), or n. */
static inline size_t http_skip_text(const uint8_t *p, size_t j, size_t n)
{
	while (n - j >= 8) {
		uint64_t w = http_load8(p + j);
		uint64_t stop = http_bytes_below(w, 0x20) | http_bytes_eq(w, 0x7f);
		if (stop == 0) {
			j += 8;
			continue;
		}
		j += http_first_marked(stop);
		if (p[j] != '\t')
			return j;
		j++;
	}
	while (j < n && (p[j] >= 0x20 ? p[j] != 0x7f : p[j] == '\t'))
		j++;
	return j;
}

/* The same for visible bytes (VCHAR, obs-text): a request target. */
static inline size_t http_skip_visible(const uint8_t *p, size_t j, size_t n)
{
	while (n - j >= 8) {
		uint64_t w = http_load8(p + j);
		uint64_t stop = http_bytes_below(w, 0x21) | http_bytes_eq(w, 0x7f);
		if (stop != 0)
			return j + http_first_marked(stop);
		j += 8;
	}
	while (j < n && p[j] > 0x20 && p[j] != 0x7f)
		j++;
	return j;
}

/* Skips tchar (field names, methods).  Names are mostly letters and '-':
 * eight of those at a time, the rest of tchar byte by byte. */
static inline size_t http_skip_tchar(const uint8_t *p, size_t j, size_t n)
{
	while (n - j >= 8) {
		uint64_t w = http_load8(p + j), t = (w | (0x20 * HTTP_ONES)) & HTTP_LOW7;
		/* (b | 0x20) in 'a'..'z', b below 0x80 */
		uint64_t letter = (t + (0x80 - 0x61) * HTTP_ONES) &
				  ~(t + (0x80 - 0x7b) * HTTP_ONES) & ~w & HTTP_HIGH;
		uint64_t other = ~(letter | http_bytes_eq(w, '-')) & HTTP_HIGH;
		if (other == 0) {
			j += 8;
			continue;
		}
		j += http_first_marked(other);
		if (!http_is_tchar(p[j]))
			return j;
		j++;
	}
	while (j < n && http_is_tchar(p[j]))
		j++;
	return j;
}

/* Case-insensitive compare of p[0..n) with a literal of n bytes, lower
 * case, of [a-z0-9-] (field names and the tokens the rewriter knows).
 * Eight (or four) bytes at a time, the last word overlapping the one
 * before: a byte of the literal with bit 6 set is a letter (no other
 * byte of that set has it) and may differ from p's by 0x20, the case bit;
 * every other byte must be equal.  Inline, so that with a literal the
 * length test and the literal's words are constants. */
static inline bool http_case_word_eq(uint64_t a, uint64_t lit)
{
	return (a | ((lit & (0x40 * HTTP_ONES)) >> 1)) == lit;
}
static inline bool http_token_eq_bytes(const uint8_t *p, size_t n,
				       const char *lit)
{
	uint64_t a = 0, b = 0;
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			__builtin_memcpy(&a, p + i, 8);
			__builtin_memcpy(&b, lit + i, 8);
			if (!http_case_word_eq(a, b))
				return false;
		}
		__builtin_memcpy(&a, p + n - 8, 8);
		__builtin_memcpy(&b, lit + n - 8, 8);
		return http_case_word_eq(a, b);
	}
	if (n >= 4) {
		uint32_t a0, a1, b0, b1;
		__builtin_memcpy(&a0, p, 4);
		__builtin_memcpy(&a1, p + n - 4, 4);
		__builtin_memcpy(&b0, lit, 4);
		__builtin_memcpy(&b1, lit + n - 4, 4);
		return http_case_word_eq((uint64_t)a0 << 32 | a1,
					 (uint64_t)b0 << 32 | b1);
	}
	for (i = 0; i < n; i++)
		if ((p[i] | ((lit[i] & 0x40) >> 1)) != (uint8_t)lit[i])
			return false;
	return true;
}
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
