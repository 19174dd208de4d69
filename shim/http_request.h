/* http_request.h - streaming rewriter of outgoing HTTP/1.x requests.
 *
 * Pure code: the caller owns every byte.  The stream alternates between a
 * head (scanned, collected by the caller, then rewritten in one piece by
 * http_request_finish_head) and a body (passed through unchanged; the
 * stream only counts it, so it can find where the next request starts).
 * Anything it cannot parse with certainty makes the stream opaque for good.
 */
#ifndef FORCECLOSE_HTTP_REQUEST_H
#define FORCECLOSE_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunked.h"
#include "http_head.h"

enum http_request_phase {
	HTTP_REQ_HEAD,		/* scanning a head: see http_request_scan */
	HTTP_REQ_BODY_LENGTH,	/* body_left bytes of body follow */
	HTTP_REQ_BODY_CHUNKED,	/* a chunked body follows */
	HTTP_REQ_OPAQUE,	/* not ours (any more): everything passes */
};

struct http_request_stream {
	struct http_head_scanner head;
	struct chunked_decoder chunk;
	uint64_t body_left;
	uint8_t phase;
	/* Optional (NULL after init): true when a request with this Host
	 * value (NULL if none) must be left alone.  Set by the caller. */
	bool (*leave_host_alone)(const void *ctx, const uint8_t *host,
				 size_t len);
	const void *host_ctx;
	/* Set by the caller after init: heads are followed (verdict, phase,
	 * info) but copied as they are (observe mode). */
	bool observe;
};

enum http_request_verdict {
	HTTP_REQ_REWRITTEN,	/* the output says close; maybe unchanged */
	HTTP_REQ_LEFT_ALONE,	/* tunnel, connection-bound auth or a Host
				   the caller excludes: the head is copied
				   as is, stream now opaque */
	HTTP_REQ_INVALID,	/* malformed or ambiguous: copied as is,
				   stream now opaque */
};

struct http_request_info {
	enum http_request_verdict verdict;
	bool method_head;	/* HEAD: its response has no body */
	bool method_connect;
	bool host_left_alone;	/* leave_host_alone said so */
	bool close_added;	/* a "Connection: close" line was added */
	unsigned lines_changed;	/* field lines rewritten or removed */
	bool said_close;	/* the program's head said close */
	const uint8_t *host;	/* Host value inside the head, or NULL */
	size_t host_len;
};

void http_request_init(struct http_request_stream *s);

/* HTTP_REQ_HEAD phase: feeds bytes of the head.  Returns the bytes that
 * belong to the head (see http_head_scan for the status). */
size_t http_request_scan(struct http_request_stream *s, const uint8_t *p,
			 size_t n, enum http_head_status *status);

/* Room the output of http_request_finish_head may need. */
static inline size_t http_request_out_room(size_t head_len)
{
	return 2 * head_len + 64;
}

/* Rewrites a complete head (every byte since the head began) into out and
 * returns the output length; sets the phase for what follows. */
size_t http_request_finish_head(struct http_request_stream *s,
				const uint8_t *head, size_t len, uint8_t *out,
				struct http_request_info *info);

/* Body and opaque phases: returns how many of the n bytes pass unchanged
 * before the next head starts (n when opaque).  Called on a copy of the
 * stream it looks ahead; called on the stream itself it commits. */
size_t http_request_pass(struct http_request_stream *s, const uint8_t *p,
			 size_t n);

/* Gives the stream up: everything passes from now on. */
static inline void http_request_give_up(struct http_request_stream *s)
{
	s->phase = HTTP_REQ_OPAQUE;
}

#endif
