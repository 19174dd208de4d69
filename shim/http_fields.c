/* http_fields.c - field-line splitting and Connection token rewriting. */
#include "http_fields.h"

#include <string.h>

const uint32_t http_tchar_bits[8] = {
	0x00000000, 0x03ff6cfa, 0xc7fffffe, 0x57ffffff,
};

bool http_next_field(const uint8_t *head, size_t len, size_t *pos,
		     struct http_field *f)
{
	const uint8_t *line = head + *pos;
	size_t n = len - *pos, j = 0, e;

	f->line = line;
	if (n > 0 && (line[0] == '\r' || line[0] == '\n')) {
		/* the empty line that ends the head */
		f->eol_len = f->line_len = line[0] == '\r' ? 2 : 1;
		*pos += f->line_len;
		return false;
	}
	/* validated: a name of tchar, a colon, text, then CRLF or LF */
	while (j < n && line[j] != ':')
		j++;
	e = http_skip_text(line, j + (j < n), n);
	if (e == n)	/* cannot happen on a validated head */
		return false;
	f->name_len = j;
	f->eol_len = line[e] == '\r' ? 2 : 1;
	f->line_len = e + f->eol_len;
	*pos += f->line_len;
	f->value = line + j + 1;
	f->value_len = e - j - 1;
	http_trim(&f->value, &f->value_len);
	return true;
}

/* Iterates the non-empty, trimmed elements of a comma list. */
static bool next_elem(const uint8_t *val, size_t len, size_t *pos,
		      const uint8_t **elem, size_t *elem_len)
{
	while (*pos < len) {
		const uint8_t *start = val + *pos;
		const uint8_t *comma = memchr(start, ',', len - *pos);
		size_t n = comma ? (size_t)(comma - start) : len - *pos;

		*pos += n + (comma ? 1 : 0);
		*elem = start;
		*elem_len = n;
		http_trim(elem, elem_len);
		if (*elem_len > 0)
			return true;
	}
	return false;
}

bool http_list_has(const uint8_t *val, size_t len, const char *token)
{
	const uint8_t *e;
	size_t n, pos = 0;

	while (next_elem(val, len, &pos, &e, &n))
		if (http_token_eq(e, n, token))
			return true;
	return false;
}

void http_list_last(const uint8_t *val, size_t len, const uint8_t **elem,
		    size_t *elem_len)
{
	const uint8_t *e;
	size_t n, pos = 0;

	*elem = val;
	*elem_len = 0;
	while (next_elem(val, len, &pos, &e, &n)) {
		*elem = e;
		*elem_len = n;
	}
}

size_t http_connection_rewrite(const uint8_t *val, size_t len, uint8_t *out,
			       bool *close_kept, bool add_close,
			       bool *changed)
{
	struct { const uint8_t *p; size_t n; } e;
	size_t pos = 0, o = 0, kept = 0, total = 0;
	const uint8_t *prev_end = NULL;
	bool added = false;

	while (next_elem(val, len, &pos, &e.p, &e.n)) {
		total++;
		if (http_token_eq(e.p, e.n, "keep-alive"))
			goto skip;
		if (http_token_eq(e.p, e.n, "close")) {
			if (*close_kept)
				goto skip;
			*close_kept = true;
		}
		/* the original separator: from the end of the element before
		 * this one (kept or not) to this one */
		if (kept > 0) {
			memcpy(out + o, prev_end, (size_t)(e.p - prev_end));
			o += (size_t)(e.p - prev_end);
		}
		memcpy(out + o, e.p, e.n);
		o += e.n;
		kept++;
	skip:
		prev_end = e.p + e.n;
	}
	if (add_close && !*close_kept) {
		if (o > 0) {
			memcpy(out + o, ", ", 2);
			o += 2;
		}
		memcpy(out + o, "close", 5);
		o += 5;
		*close_kept = true;
		added = true;
	}
	/* Unchanged when every element stayed and nothing was added; the
	 * caller then copies the original line byte for byte. */
	*changed = kept != total || added;
	return o;
}

static size_t put(uint8_t *out, size_t o, const void *p, size_t n)
{
	memcpy(out + o, p, n);
	return o + n;
}

/* "Name: " then a value of vl bytes that is already in place after it,
 * then the line's own ending. */
static size_t put_line(uint8_t *out, size_t o, const struct http_field *fl,
		       size_t vl)
{
	memcpy(out + o, fl->line, fl->name_len);
	memcpy(out + o + fl->name_len, ": ", 2);
	o += fl->name_len + 2 + vl;
	return put(out, o, fl->line + fl->line_len - fl->eol_len, fl->eol_len);
}

size_t http_rewrite_fields(const uint8_t *head, size_t len, size_t pos,
			   uint8_t *out, size_t o,
			   struct http_close_rewrite *rw)
{
	struct http_field fl;
	bool close_kept = false, first_connection = true;

	while (http_next_field(head, len, &pos, &fl)) {
		const uint8_t *name = fl.line;
		size_t nl = fl.name_len;

		if (http_token_eq(name, nl, "connection")) {
			/* the new value is built where it will stay */
			uint8_t *val = out + o + nl + 2;
			bool changed;
			size_t vl = http_connection_rewrite(
				fl.value, fl.value_len, val, &close_kept,
				first_connection && !rw->has_close, &changed);
			first_connection = false;
			if (!changed)
				o = put(out, o, fl.line, fl.line_len);
			else if (vl > 0)
				o = put_line(out, o, &fl, vl);
			rw->lines_changed += changed;
		} else if (http_token_eq(name, nl, "keep-alive")) {
			rw->lines_changed++;
		} else if (rw->proxy &&
			   http_token_eq(name, nl, "proxy-connection") &&
			   !http_token_eq(fl.value, fl.value_len, "close")) {
			memcpy(out + o + nl + 2, "close", 5);
			o = put_line(out, o, &fl, 5);
			rw->lines_changed++;
		} else {
			o = put(out, o, fl.line, fl.line_len);
		}
	}
	if (!rw->has_connection) {
		o = put(out, o, "Connection: close", 17);
		o = put(out, o, rw->eol, rw->eol_len);
		rw->close_added = true;
	}
	/* the empty line that ends the head */
	return put(out, o, fl.line, fl.line_len);
}

size_t http_add_close(const uint8_t *head, size_t len, size_t end,
		      uint8_t *out, const uint8_t *eol, size_t eol_len)
{
	size_t o = end, i;

	/* one call for the head; the added line and the empty line (a few
	 * bytes each) are copied in place */
	memcpy(out, head, end);
	__builtin_memcpy(out + o, "Connection: close", 17);
	o += 17;
	for (i = 0; i < eol_len; i++)
		out[o++] = eol[i];
	for (i = end; i < len; i++)
		out[o++] = head[i];
	return o;
}

bool http_close_field(const uint8_t *name, size_t len)
{
	return (len == 10 && (http_token_eq(name, len, "connection") ||
			      http_token_eq(name, len, "keep-alive"))) ||
	       (len == 16 && http_token_eq(name, len, "proxy-connection"));
}

bool http_parse_length(const uint8_t *val, size_t len, uint64_t *out)
{
	const uint8_t *e;
	size_t n, i, pos = 0;
	bool have = false;
	uint64_t one = 0;

	/* the usual value: digits only (val is trimmed) */
	for (i = 0; i < len && val[i] >= '0' && val[i] <= '9' &&
		    one <= (1ULL << 58); i++)
		one = one * 10 + (uint64_t)(val[i] - '0');
	if (i == len && len > 0) {
		*out = one;
		return true;
	}
	while (next_elem(val, len, &pos, &e, &n)) {
		uint64_t v = 0;
		for (i = 0; i < n; i++) {
			if (e[i] < '0' || e[i] > '9' || v > (1ULL << 58))
				return false;
			v = v * 10 + (uint64_t)(e[i] - '0');
		}
		if (have && v != *out)
			return false;
		*out = v;
		have = true;
	}
	return have;
}

bool http_framing_field(const struct http_field *fl, struct http_framing *f)
{
	if (http_token_eq(fl->line, fl->name_len, "content-length")) {
		uint64_t v = 0;
		if (!http_parse_length(fl->value, fl->value_len, &v) ||
		    (f->has_length && v != f->length))
			f->bad = true;
		f->has_length = true;
		f->length = v;
		return true;
	}
	if (http_token_eq(fl->line, fl->name_len, "transfer-encoding")) {
		const uint8_t *last;
		size_t last_len;
		/* a later field line may add codings after chunked */
		http_list_last(fl->value, fl->value_len, &last, &last_len);
		f->has_te = true;
		f->chunked = http_token_eq(last, last_len, "chunked");
		return true;
	}
	return false;
}
