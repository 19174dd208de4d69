/* http_head.h - resumable scanner that finds the end of an HTTP/1.x head
 * (start line plus field lines) and validates it on the way, byte by byte,
 * so that a stream which is not HTTP/1.x is recognised at its first wrong
 * byte.  Pure: no allocation, no descriptors; the caller keeps the bytes. */
#ifndef FORCECLOSE_HTTP_HEAD_H
#define FORCECLOSE_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_LINE_MAX (64 * 1024)	/* longest line accepted */
#define HTTP_HEAD_MAX (64 * 1024)	/* longest head accepted */

enum http_head_kind { HTTP_HEAD_REQUEST, HTTP_HEAD_RESPONSE };

enum http_head_status {
	HTTP_HEAD_MORE,		/* all input consumed, head not finished */
	HTTP_HEAD_COMPLETE,	/* head ends within the input */
	HTTP_HEAD_INVALID,	/* not a valid HTTP/1.x head, or over a limit */
};

/* What the fast path (whole lines) learns on the way, so that the common
 * head is not walked a second time when it is rewritten: with SIMPLE,
 * every line went that way and none is a field the facts do not cover
 * (only Host and one plain Content-Length are; Connection and its kin,
 * Upgrade, Transfer-Encoding or an Authorization field clear it). */
enum {
	HTTP_FACT_SIMPLE = 1,
	HTTP_FACT_CRLF = 2,	/* the start line ends in CRLF */
	HTTP_FACT_HOST = 4,	/* host_off, host_len: the Host value */
	HTTP_FACT_LENGTH = 8,	/* length: the Content-Length value */
	HTTP_FACT_COMPLETE = 16,	/* the head ended on the fast path */
};
struct http_head_facts {
	uint64_t length;
	uint16_t host_off, host_len;	/* offsets in the head (< 64 KiB) */
	uint8_t flags;
};

struct http_head_scanner {
	uint32_t total;		/* bytes of the head so far */
	uint32_t line_len;	/* bytes of the current line so far */
	uint8_t state;
	uint8_t pos;		/* progress through a fixed part */
	struct http_head_facts facts;
};

void http_head_init(struct http_head_scanner *s, enum http_head_kind kind);

/* Are the facts those of this complete head of len bytes (the scanner
 * took it all, on the fast path)? */
static inline bool http_head_facts_hold(const struct http_head_scanner *s,
					size_t len)
{
	return (s->facts.flags & (HTTP_FACT_SIMPLE | HTTP_FACT_COMPLETE)) ==
		       (HTTP_FACT_SIMPLE | HTTP_FACT_COMPLETE) &&
	       s->total == len;
}

/* Feeds n bytes.  Returns the bytes consumed: n with HTTP_HEAD_MORE, the
 * head's remaining length (up to and including its final LF) with
 * HTTP_HEAD_COMPLETE, the offending byte's offset with HTTP_HEAD_INVALID. */
size_t http_head_scan(struct http_head_scanner *s, const uint8_t *p,
		      size_t n, enum http_head_status *status);

/* First bytes of a stream that are a TLS handshake record (content type
 * 22, version 3.x), not a request line. */
static inline int http_looks_like_tls(const uint8_t *p, size_t n)
{
	return n >= 2 && p[0] == 0x16 && p[1] == 0x03;
}

#endif
