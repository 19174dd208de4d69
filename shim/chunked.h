/* chunked.h - streaming decoder of the chunked transfer coding's framing
 * (RFC 9112 section 7.1), shared by both directions.  It never copies data:
 * chunk data is skipped by subtraction, so a large body costs O(1) per call.
 * The state is plain data; copy it to look ahead without committing. */
#ifndef FORCECLOSE_CHUNKED_H
#define FORCECLOSE_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

/* Longest chunk-size line (with extensions) or trailer line accepted. */
#define CHUNKED_LINE_MAX (64 * 1024)

enum chunked_status {
	CHUNKED_MORE,		/* all input consumed, body not finished */
	CHUNKED_DONE,		/* body ended; the return value says where */
	CHUNKED_INVALID,	/* not valid chunked framing */
};

struct chunked_decoder {
	uint64_t left;		/* data bytes left in the current chunk */
	uint32_t line_len;	/* bytes of the current framing line */
	uint8_t state;
	uint8_t digits;
	uint8_t last;		/* the size line was the last chunk (0) */
};

void chunked_init(struct chunked_decoder *d);

/* Feeds n bytes.  Returns how many were consumed: n with CHUNKED_MORE, the
 * count up to and including the body's last byte with CHUNKED_DONE, and the
 * offset of the offending byte with CHUNKED_INVALID. */
size_t chunked_feed(struct chunked_decoder *d, const uint8_t *p, size_t n,
		    enum chunked_status *status);

#endif
