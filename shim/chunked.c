/* chunked.c - chunked framing as a byte-wise state machine, with chunk
 * data skipped in one step. */
#include "chunked.h"

#include <string.h>

#include "http_fields.h"

enum {
	S_SIZE,		/* hex digits of chunk-size */
	S_SIZE_END,	/* after the size: BWS, then ';' or the line end */
	S_EXT,		/* chunk extensions, up to the line end */
	S_EXT_QUOTED,	/* inside a quoted-string of an extension */
	S_EXT_ESCAPE,	/* after a backslash in a quoted-string */
	S_SIZE_LF,	/* CR seen at the end of the size line */
	S_DATA,		/* `left` bytes of chunk data */
	S_DATA_CR,	/* the CRLF (or LF) after chunk data */
	S_DATA_LF,
	S_TRAILER_START,/* start of a trailer line or of the final EOL */
	S_TRAILER,	/* inside a trailer field line */
	S_TRAILER_LF,	/* CR seen at the end of a trailer line */
	S_FINAL_LF,	/* CR seen on the final empty line */
};

void chunked_init(struct chunked_decoder *d)
{
	memset(d, 0, sizeof *d);
	d->state = S_SIZE;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Framing bytes other than HTAB must not be control characters. */
static int is_text(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* End of a size line: data follows, or the trailer section if size 0. */
static void size_line_done(struct chunked_decoder *d)
{
	d->line_len = 0;
	d->state = d->last ? S_TRAILER_START : S_DATA;
}

size_t chunked_feed(struct chunked_decoder *d, const uint8_t *p, size_t n,
		    enum chunked_status *status)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];

		if (d->state == S_DATA) {
			size_t take = n - i < d->left ? n - i : (size_t)d->left;
			d->left -= take;
			i += take;
			if (d->left == 0)
				d->state = S_DATA_CR;
			continue;
		}
		if (++d->line_len > CHUNKED_LINE_MAX)
			goto invalid;
		switch (d->state) {
		case S_SIZE: {
			int v = hexval(c);
			if (v >= 0) {
				/* 15 digits keep the size below 2^60 */
				if (++d->digits > 15)
					goto invalid;
				d->left = d->left * 16 + (uint64_t)v;
				break;
			}
			if (d->digits == 0)
				goto invalid;
			d->last = d->left == 0;
			d->state = S_SIZE_END;
		}
			/* this byte starts the rest of the line */
			__attribute__((fallthrough));
		case S_SIZE_END:
			/* "5 junk" is read differently by different parsers */
			if (c == ';')
				d->state = S_EXT;
			else if (c == '\r')
				d->state = S_SIZE_LF;
			else if (c == '\n')
				size_line_done(d);
			else if (c != ' ' && c != '\t')
				goto invalid;
			break;
		case S_EXT:
			if (c == '\r')
				d->state = S_SIZE_LF;
			else if (c == '\n')
				size_line_done(d);
			else if (c == '"')
				d->state = S_EXT_QUOTED;
			else if (!is_text(c))
				goto invalid;
			break;
		case S_EXT_QUOTED:
			if (c == '\\')
				d->state = S_EXT_ESCAPE;
			else if (c == '"')
				d->state = S_EXT;
			else if (!is_text(c))
				goto invalid;
			break;
		case S_EXT_ESCAPE:
			if (!is_text(c))
				goto invalid;
			d->state = S_EXT_QUOTED;
			break;
		case S_SIZE_LF:
			if (c != '\n')
				goto invalid;
			size_line_done(d);
			break;
		case S_DATA_CR:
			if (c == '\r')
				d->state = S_DATA_LF;
			else if (c == '\n')
				goto next_chunk;
			else
				goto invalid;
			break;
		case S_DATA_LF:
			if (c != '\n')
				goto invalid;
		next_chunk:
			d->state = S_SIZE;
			d->digits = 0;
			d->left = 0;
			d->line_len = 0;
			break;
		case S_TRAILER_START:
			if (c == '\r') {
				d->state = S_FINAL_LF;
				break;
			}
			if (c == '\n')
				goto done;
			if (!http_is_tchar(c))	/* no obs-fold, no junk */
				goto invalid;
			d->state = S_TRAILER;
			break;
		case S_TRAILER:
			if (c == '\r')
				d->state = S_TRAILER_LF;
			else if (c == '\n')
				goto trailer_done;
			else if (!is_text(c))
				goto invalid;
			break;
		case S_TRAILER_LF:
			if (c != '\n')
				goto invalid;
		trailer_done:
			d->state = S_TRAILER_START;
			d->line_len = 0;
			break;
		case S_FINAL_LF:
			if (c != '\n')
				goto invalid;
			goto done;
		}
		i++;
	}
	*status = CHUNKED_MORE;
	return n;
done:
	*status = CHUNKED_DONE;
	return i + 1;
invalid:
	*status = CHUNKED_INVALID;
	return i;
}
