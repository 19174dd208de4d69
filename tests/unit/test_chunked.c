/* Unit tests of the chunked framing decoder: the end of the body is found
 * at the same offset whatever the split, and invalid framing is refused. */
#include <stdio.h>
#include <string.h>

#include "chunked.h"

static int failures, checks;

/* Feeds in[0..n) cut at `cut` (0: whole); returns the status and sets
 * *end to the offset just past the body (when DONE). */
static enum chunked_status run(const char *in, size_t n, size_t cut,
			       size_t *end)
{
	struct chunked_decoder d;
	enum chunked_status st = CHUNKED_MORE;
	size_t pos = 0, k;

	chunked_init(&d);
	if (cut > 0) {
		k = chunked_feed(&d, (const uint8_t *)in, cut, &st);
		pos = k;
		if (st != CHUNKED_MORE) {
			*end = pos;
			return st;
		}
	}
	k = chunked_feed(&d, (const uint8_t *)in + pos, n - pos, &st);
	*end = pos + k;
	return st;
}

static void expect(const char *name, const char *in, size_t n,
		   enum chunked_status want, size_t want_end)
{
	size_t cut, end;

	for (cut = 0; cut < n; cut++) {
		enum chunked_status st = run(in, n, cut, &end);
		checks++;
		if (st != want || (want == CHUNKED_DONE && end != want_end)) {
			failures++;
			fprintf(stderr, "FAIL %s cut %zu: status %d end %zu\n",
				name, cut, st, end);
		}
	}
}

#define DONE_AT(name, body, rest) \
	expect(name, body rest, sizeof body rest - 1, CHUNKED_DONE, sizeof body - 1)
#define BAD(name, in) expect(name, in, sizeof in - 1, CHUNKED_INVALID, 0)
#define MORE(name, in) expect(name, in, sizeof in - 1, CHUNKED_MORE, 0)

int main(void)
{
	DONE_AT("simple", "5\r\nhello\r\n0\r\n\r\n", "GET /");
	DONE_AT("bare LF", "5\nhello\n0\n\n", "x");
	DONE_AT("extensions", "3;a=b;c=\"x;\\\"y\"\r\nabc\r\n0;z\r\n\r\n", "");
	DONE_AT("trailers", "1\r\na\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n", "\r\n");
	DONE_AT("BWS after size", "2 \t;x\r\nab\r\n0\r\n\r\n", "");
	DONE_AT("upper hex, zeros", "00A\r\n0123456789\r\n000\r\n\r\n", "zz");
	MORE("unfinished", "5\r\nhel");
	MORE("no final CRLF", "0\r\nX-A: 1\r\n");
	BAD("no digits", "\r\n");
	BAD("junk after size", "5 junk\r\nhello\r\n0\r\n\r\n");
	BAD("16 hex digits", "1000000000000000\r\n");
	BAD("bare CR in size line", "5\rhello\r\n");
	BAD("missing CRLF after data", "2\r\nabc\r\n");
	BAD("obs-fold in trailers", "0\r\nX: 1\r\n folded\r\n\r\n");
	BAD("control char in extension", "1;\x01\r\na\r\n0\r\n\r\n");
	printf("chunked: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
