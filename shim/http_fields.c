/* http_fields.c - field-line splitting and Connection token rewriting. */
#include "http_fields.h"

#include <string.h>

bool http_is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

bool http_token_eq(const uint8_t *p, size_t n, const char *lit)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (lit[i] == '\0' || lower(p[i]) != (uint8_t)lit[i])
			return false;
	return lit[n] == '\0';
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static void trim(const uint8_t **p, size_t *n)
{
	while (*n > 0 && is_ows((*p)[0])) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && is_ows((*p)[*n - 1]))
		(*n)--;
}

bool http_next_field(const uint8_t *head, size_t len, size_t *pos,
		     struct http_field *f)
{
	const uint8_t *line = head + *pos;
	const uint8_t *lf = memchr(line, '\n', len - *pos);
	size_t content;

	if (lf == NULL)	/* cannot happen on a validated head */
		return false;
	f->line = line;
	f->line_len = (size_t)(lf - line) + 1;
	f->eol_len = (lf > line && lf[-1] == '\r') ? 2 : 1;
	*pos += f->line_len;
	content = f->line_len - f->eol_len;
	if (content == 0)
		return false;
	f->name_len = (size_t)((const uint8_t *)memchr(line, ':', content) - line);
	f->value = line + f->name_len + 1;
	f->value_len = content - f->name_len - 1;
	trim(&f->value, &f->value_len);
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
		trim(elem, elem_len);
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

static size_t append(uint8_t *out, size_t o, const void *p, size_t n)
{
	if (o > 0) {
		memcpy(out + o, ", ", 2);
		o += 2;
	}
	memcpy(out + o, p, n);
	return o + n;
}

size_t http_connection_rewrite(const uint8_t *val, size_t len, uint8_t *out,
			       bool *close_kept, bool add_close,
			       bool *changed)
{
	const uint8_t *e;
	size_t n, pos = 0, o = 0, kept = 0, total = 0;
	bool added = false;

	while (next_elem(val, len, &pos, &e, &n)) {
		total++;
		if (http_token_eq(e, n, "keep-alive"))
			continue;
		if (http_token_eq(e, n, "close")) {
			if (*close_kept)
				continue;
			*close_kept = true;
		}
		o = append(out, o, e, n);
		kept++;
	}
	if (add_close && !*close_kept) {
		o = append(out, o, "close", 5);
		*close_kept = true;
		added = true;
	}
	/* Unchanged when every element stayed and nothing was added; the
	 * caller then copies the original line byte for byte. */
	*changed = kept != total || added;
	return o;
}

bool http_parse_length(const uint8_t *val, size_t len, uint64_t *out)
{
	const uint8_t *e;
	size_t n, i, pos = 0;
	bool have = false;

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
