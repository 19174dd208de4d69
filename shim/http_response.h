/* http_response.h - streaming framing tracker for HTTP/1.x responses (RFC
 * 9112 section 6.3) that also rewrites final response heads to say
 * `Connection: close`.
 *
 * Pure code, like http_request.h: the caller collects each head and hands
 * it over whole; body bytes are only counted (O(1) per call for chunk
 * data), never copied.  Anything ambiguous makes the stream opaque. */
#ifndef FORCECLOSE_HTTP_RESPONSE_H
#define FORCECLOSE_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunked.h"
#include "http_fields.h"
#include "http_head.h"

enum http_response_phase {
	HTTP_RESP_HEAD,		/* scanning a head */
	HTTP_RESP_BODY_LENGTH,	/* body_left bytes of body follow */
	HTTP_RESP_BODY_CHUNKED,	/* a chunked body follows */
	HTTP_RESP_OPAQUE,	/* body to end of file, tunnel, or given up */
};

struct http_response_stream {
	struct http_head_scanner head;
	struct chunked_decoder chunk;
	uint64_t body_left;
	uint8_t phase;
	bool observe;	/* set after init: heads followed, copied as they are */
};

enum http_response_verdict {
	HTTP_RESP_FINAL,	/* final response, rewritten to say close */
	HTTP_RESP_INTERIM,	/* 1xx: copied as is, another head follows */
	HTTP_RESP_TUNNEL,	/* 101, or 2xx to CONNECT: copied, opaque */
	HTTP_RESP_INVALID,	/* malformed or ambiguous: copied, opaque */
};

struct http_response_info {
	enum http_response_verdict verdict;
	unsigned status;
	bool complete;		/* the response ended with its head */
	bool close_added;
	unsigned lines_changed;
	bool said_close;	/* a final response whose server will close:
				   Connection: close, or a body to end of file */
};

void http_response_init(struct http_response_stream *s);

/* HTTP_RESP_HEAD phase: see http_head_scan. */
size_t http_response_scan(struct http_response_stream *s, const uint8_t *p,
			  size_t n, enum http_head_status *status);

/* Longest output for a head of len bytes. */
static inline size_t http_response_out_room(size_t head_len)
{
	return head_len + HTTP_CLOSE_GROWTH_MAX;
}

/* Rewrites a complete head into out (room: http_response_out_room) and
 * returns the output length; sets the phase for what follows.  `to_head`:
 * the request it answers was HEAD (no body whatever the fields say). */
size_t http_response_finish_head(struct http_response_stream *s,
				 const uint8_t *head, size_t len, bool to_head,
				 uint8_t *out,
				 struct http_response_info *info);

/* How many leading bytes of an unfinished head (its first len bytes) the
 * rewrite of the complete head will leave as they are: the status line,
 * even unfinished, and the field lines before the first one that is, or
 * may yet turn out to be, a Connection, Keep-Alive or Proxy-Connection
 * line, the last one even unfinished.  Never the end of the head, where
 * the rewrite adds its line. */
size_t http_response_stable(const uint8_t *head, size_t len);

/* Body phases: how many of the n bytes belong to the current body (all n
 * when opaque).  *complete is set when the body ends within them.  Called
 * on a copy it looks ahead; on the stream itself it commits. */
size_t http_response_pass(struct http_response_stream *s, const uint8_t *p,
			  size_t n, bool *complete);

static inline void http_response_give_up(struct http_response_stream *s)
{
	s->phase = HTTP_RESP_OPAQUE;
}

#endif
