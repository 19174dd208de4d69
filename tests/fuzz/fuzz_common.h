/* fuzz_common.h - shared by the fuzz targets: decoding a fuzz input into a
 * byte stream plus the places to cut it, a growable output buffer, and
 * oracle helpers written independently of the shim's own field parsing.
 *
 * Input layout (every target):
 *   byte 0   low 4 bits: number of cuts (0-15); bit 4: inflate
 *   byte 1   target flags (fuzz_request: bit 0 installs a Host filter,
 *            bit 1 is its answer for no Host; fuzz_response: bit i says
 *            that response i answers a HEAD request)
 *   [inflate: 2 bytes position, 2 bytes count, little-endian]
 *   cuts     2 bytes each, little-endian
 *   rest     the stream
 * Inflate repeats the stream byte at `position` `count` more times, so
 * that the 64 KiB head and line limits are reachable from small inputs. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An oracle: a false condition is a finding, reported and aborted on. */
#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: oracle failed: %s\n",      \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

#define FUZZ_CUTS_MAX 15

struct fuzz_input {
	uint8_t *data;		/* the stream, exactly len bytes (owned) */
	size_t len;
	size_t cuts[FUZZ_CUTS_MAX];	/* ascending offsets within [0, len] */
	size_t ncuts;
	uint8_t flags;
};

static inline unsigned fuzz_u16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* False when the input is too short to hold its own prefix. */
static inline bool fuzz_decode(const uint8_t *in, size_t n,
			       struct fuzz_input *f)
{
	size_t hdr, i, j, rest_len, pos = 0, count = 0;
	const uint8_t *rest;
	bool inflate;

	if (n < 2)
		return false;
	f->ncuts = in[0] & 15;
	inflate = in[0] & 0x10;
	f->flags = in[1];
	hdr = 2 + (inflate ? 4 : 0) + 2 * f->ncuts;
	if (n < hdr)
		return false;
	rest = in + hdr;
	rest_len = n - hdr;
	if (inflate && rest_len > 0) {
		pos = fuzz_u16(in + 2) % rest_len;
		count = fuzz_u16(in + 4);
	}
	f->len = rest_len + count;
	f->data = malloc(f->len ? f->len : 1);
	CHECK(f->data != NULL);
	if (count > 0) {
		memcpy(f->data, rest, pos + 1);
		memset(f->data + pos + 1, rest[pos], count);
		memcpy(f->data + pos + 1 + count, rest + pos + 1,
		       rest_len - pos - 1);
	} else if (rest_len > 0) {
		memcpy(f->data, rest, rest_len);
	}
	for (i = 0; i < f->ncuts; i++) {
		const uint8_t *c = in + 2 + (inflate ? 4 : 0) + 2 * i;
		uint64_t v = fuzz_u16(c);
		/* exact offsets in short streams, scaled in long ones */
		f->cuts[i] = f->len < 65536 ? (size_t)(v % (f->len + 1))
					    : (size_t)(v * (f->len + 1) >> 16);
	}
	for (i = 1; i < f->ncuts; i++)	/* insertion sort */
		for (j = i; j > 0 && f->cuts[j - 1] > f->cuts[j]; j--) {
			size_t t = f->cuts[j];
			f->cuts[j] = f->cuts[j - 1];
			f->cuts[j - 1] = t;
		}
	return true;
}

/* A growable byte string. */
struct fuzz_buf {
	uint8_t *p;
	size_t len, cap;
};

static inline void fuzz_put(struct fuzz_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		CHECK(b->p != NULL);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline bool fuzz_same(const struct fuzz_buf *a, const struct fuzz_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* --- oracle helpers: a deliberately plain reading of field lines --- */

static inline int fuzz_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static inline bool fuzz_ieq(const uint8_t *p, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++)
		if (fuzz_lower(p[i]) != lit[i])
			return false;
	return true;
}

/* Is the line a field line named `name` (lower case)?  On success *val
 * and *vlen give its raw value (without the line ending). */
static inline bool fuzz_line_named(const uint8_t *l, size_t n,
				   const char *name, const uint8_t **val,
				   size_t *vlen)
{
	size_t nl = strlen(name);

	if (n <= nl || l[nl] != ':' || !fuzz_ieq(l, nl, name))
		return false;
	*val = l + nl + 1;
	*vlen = n - nl - 1;
	if (*vlen > 0 && (*val)[*vlen - 1] == '\n')
		(*vlen)--;
	if (*vlen > 0 && (*val)[*vlen - 1] == '\r')
		(*vlen)--;
	return true;
}

/* The lines the rewrite may change, add or drop. */
static inline bool fuzz_is_conn_line(const uint8_t *l, size_t n)
{
	const uint8_t *v;
	size_t vl;

	return fuzz_line_named(l, n, "connection", &v, &vl) ||
	       fuzz_line_named(l, n, "keep-alive", &v, &vl) ||
	       fuzz_line_named(l, n, "proxy-connection", &v, &vl);
}

/* p[0..n) without its connection-header lines.  Lines are cut after each
 * LF; a rewritten head only changes whole lines that begin after an LF,
 * so this holds for a whole stream as well as for one head. */
static inline void fuzz_filter(const uint8_t *p, size_t n, struct fuzz_buf *o)
{
	size_t i = 0;

	o->len = 0;
	while (i < n) {
		const uint8_t *lf = memchr(p + i, '\n', n - i);
		size_t ll = lf ? (size_t)(lf - (p + i)) + 1 : n - i;
		if (!fuzz_is_conn_line(p + i, ll))
			fuzz_put(o, p + i, ll);
		i += ll;
	}
}

static inline bool fuzz_is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Over the Connection lines of a head: how many comma-list elements are
 * `close`, and how many are `keep-alive`. */
static inline void fuzz_count_conn_tokens(const uint8_t *p, size_t n,
					  unsigned *close, unsigned *keep)
{
	size_t i = 0;

	*close = *keep = 0;
	while (i < n) {
		const uint8_t *lf = memchr(p + i, '\n', n - i);
		size_t ll = lf ? (size_t)(lf - (p + i)) + 1 : n - i;
		const uint8_t *v;
		size_t vl, a = 0;

		if (fuzz_line_named(p + i, ll, "connection", &v, &vl)) {
			while (a <= vl) {
				size_t b = a, s, e;
				while (b < vl && v[b] != ',')
					b++;
				s = a;
				e = b;
				while (s < e && fuzz_is_ows(v[s]))
					s++;
				while (e > s && fuzz_is_ows(v[e - 1]))
					e--;
				*close += fuzz_ieq(v + s, e - s, "close");
				*keep += fuzz_ieq(v + s, e - s, "keep-alive");
				a = b + 1;
			}
		}
		i += ll;
	}
}

/* Number of lines named `name`; *other counts those whose trimmed value
 * is not `want` (when want is not NULL). */
static inline unsigned fuzz_count_lines(const uint8_t *p, size_t n,
					const char *name, const char *want,
					unsigned *other)
{
	size_t i = 0;
	unsigned count = 0;

	*other = 0;
	while (i < n) {
		const uint8_t *lf = memchr(p + i, '\n', n - i);
		size_t ll = lf ? (size_t)(lf - (p + i)) + 1 : n - i;
		const uint8_t *v;
		size_t vl;

		if (fuzz_line_named(p + i, ll, name, &v, &vl)) {
			count++;
			while (vl > 0 && fuzz_is_ows(v[0])) {
				v++;
				vl--;
			}
			while (vl > 0 && fuzz_is_ows(v[vl - 1]))
				vl--;
			if (want != NULL && !fuzz_ieq(v, vl, want))
				(*other)++;
		}
		i += ll;
	}
	return count;
}

/* Events whose sequence must not depend on how the stream was cut. */
struct fuzz_events {
	uint64_t *ev;
	size_t n, cap;
};

static inline void fuzz_event(struct fuzz_events *e, uint64_t offset,
			      unsigned kind)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 64;
		e->ev = realloc(e->ev, e->cap * sizeof *e->ev);
		CHECK(e->ev != NULL);
	}
	e->ev[e->n++] = offset << 8 | kind;
}

static inline bool fuzz_same_events(const struct fuzz_events *a,
				    const struct fuzz_events *b)
{
	return a->n == b->n &&
	       (a->n == 0 || memcmp(a->ev, b->ev, a->n * sizeof *a->ev) == 0);
}

/* A plain model of the one framing everybody agrees on: exactly one
 * Content-Length line of 1 to 15 digits, no Transfer-Encoding line.
 * False when the head is not that simple. */
static inline bool fuzz_simple_length(const uint8_t *p, size_t n,
				      uint64_t *length)
{
	size_t i = 0, found = 0;
	unsigned other;

	if (fuzz_count_lines(p, n, "transfer-encoding", NULL, &other) != 0 ||
	    fuzz_count_lines(p, n, "content-length", NULL, &other) != 1)
		return false;
	while (i < n) {
		const uint8_t *lf = memchr(p + i, '\n', n - i);
		size_t ll = lf ? (size_t)(lf - (p + i)) + 1 : n - i;
		const uint8_t *v;
		size_t vl, j;

		if (fuzz_line_named(p + i, ll, "content-length", &v, &vl)) {
			while (vl > 0 && fuzz_is_ows(v[0])) {
				v++;
				vl--;
			}
			while (vl > 0 && fuzz_is_ows(v[vl - 1]))
				vl--;
			if (vl == 0 || vl > 15)
				return false;
			*length = 0;
			for (j = 0; j < vl; j++) {
				if (v[j] < '0' || v[j] > '9')
					return false;
				*length = *length * 10 + (uint64_t)(v[j] - '0');
			}
			found++;
		}
		i += ll;
	}
	return found == 1;
}

/* "The event after event `idx` is `kind` at offset `at`", checked once a
 * run is over. */
struct fuzz_expect {
	size_t idx;
	uint64_t at;
};

struct fuzz_expects {
	struct fuzz_expect *e;
	size_t n, cap;
};

static inline void fuzz_expect(struct fuzz_expects *x, size_t idx,
			       uint64_t at)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 16;
		x->e = realloc(x->e, x->cap * sizeof *x->e);
		CHECK(x->e != NULL);
	}
	x->e[x->n].idx = idx;
	x->e[x->n++].at = at;
}

static inline uint64_t fuzz_ev_offset(const struct fuzz_events *e, size_t i)
{
	return e->ev[i] >> 8;
}

static inline unsigned fuzz_ev_kind(const struct fuzz_events *e, size_t i)
{
	return (unsigned)(e->ev[i] & 255);
}

/* FUZZ_DEBUG=1 in the environment: print the events of a run, to read
 * what a crasher or a seed does (offset:kind, kinds as in each target). */
static inline void fuzz_debug_events(const char *what,
				     const struct fuzz_events *e, size_t len)
{
	static int debug = -1;
	size_t i;

	if (debug < 0)
		debug = getenv("FUZZ_DEBUG") != NULL;
	if (!debug)
		return;
	fprintf(stderr, "%s: %zu bytes:", what, len);
	for (i = 0; i < e->n; i++)
		fprintf(stderr, " %llu:%u", (unsigned long long)(e->ev[i] >> 8),
			(unsigned)(e->ev[i] & 255));
	fprintf(stderr, "\n");
}

#endif
