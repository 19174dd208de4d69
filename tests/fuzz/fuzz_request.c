/* fuzz_request.c - libFuzzer target for the request rewriter
 * (http_request_*, with http_head, http_fields and chunked under it).
 *
 * The stream is driven as conn_write.c drives it: head bytes are collected
 * until the head is complete (or rewritten straight from the input when it
 * came in one piece), then http_request_finish_head into a buffer of
 * exactly http_request_out_room(len) bytes, then http_request_pass for
 * body bytes; an invalid head gives the stream up and what was held goes
 * out as it came.  The stream is fed whole, then cut where the input says
 * (body bytes then looked ahead on a copy and committed in two pieces, as
 * conn_write.c's passable()/passed() do).  Oracles, each an abort():
 *  1. split invariance: same output bytes, same verdicts at same offsets;
 *  2. fidelity: without Connection, Keep-Alive and Proxy-Connection lines,
 *     input and output are equal; heads not REWRITTEN are copied as they
 *     are, and with no REWRITTEN head at all the output is the input;
 *  3. bounds: held head <= HTTP_HEAD_MAX, output within its room, framing
 *     lines within CHUNKED_LINE_MAX, every call makes progress;
 *  4. a REWRITTEN head has exactly one `close` over its Connection lines,
 *     no keep-alive, no Keep-Alive line, Proxy-Connection only `close`; it
 *     is a valid head again (when within the limit) and rewriting it again
 *     changes nothing;
 *  5. framing: after a head with one plain Content-Length (digits only, no
 *     Transfer-Encoding), the next head starts exactly that many bytes
 *     after it;
 *  6. the Host filter (input flag bit 0 installs one that excludes odd
 *     length Host values, and with bit 1 requests without Host): asked
 *     for every REWRITTEN head, and its yes always means LEFT_ALONE. */
#include "fuzz_common.h"

#include "http_request.h"

enum {
	EV_HEAD = 1,		/* + verdict */
	EV_HEAD_INVALID = 16,
	EV_BODY_GAVE_UP = 17,
	EV_HEAD_START = 19,
	EV_END = 32,		/* + phase */
};

struct driver {
	struct http_request_stream s;
	uint8_t *held;		/* HTTP_HEAD_MAX bytes */
	size_t held_len;
	uint64_t pos;		/* input offset of the next byte */
	bool pieces;		/* look ahead, then commit in two pieces */
	bool check_heads;
	unsigned rewritten;
	struct fuzz_buf out;
	struct fuzz_events ev;
	struct fuzz_expects expects;	/* framing model, whole run only */
};

static struct fuzz_buf scratch_a, scratch_b;

/* The Host filter's last answer (-1: not asked) and its argument. */
static int filter_answer;
static const uint8_t *filter_host;

static bool filter(const void *ctx, const uint8_t *host, size_t len)
{
	const uint8_t *flags = ctx;

	filter_host = host;
	filter_answer = host != NULL ? (int)(len & 1) : (*flags >> 1) & 1;
	return filter_answer;
}

/* Oracle 6, and the Host value lies inside the head. */
static void check_filter(const struct driver *d, const uint8_t *head,
			 size_t len, const struct http_request_info *info)
{
	if (info->host != NULL)
		CHECK(info->host >= head &&
		      info->host_len <= (size_t)(head + len - info->host));
	if (d->s.leave_host_alone == NULL) {
		CHECK(!info->host_left_alone);
		return;
	}
	if (info->verdict == HTTP_REQ_REWRITTEN)
		CHECK(filter_answer == 0);
	if (filter_answer >= 0)
		CHECK(filter_host == info->host);
	if (filter_answer == 1)
		CHECK(info->verdict == HTTP_REQ_LEFT_ALONE &&
		      info->host_left_alone);
	if (info->host_left_alone)
		CHECK(filter_answer == 1);
}

/* Oracle 4 on one REWRITTEN head. */
static void check_rewritten(const uint8_t *in, size_t len, const uint8_t *out,
			    size_t ol)
{
	unsigned close, keep, other;
	struct http_request_stream s2;
	struct http_request_info info2;
	enum http_head_status st;
	uint8_t *out2;
	size_t ol2;

	fuzz_count_conn_tokens(out, ol, &close, &keep);
	CHECK(close == 1);
	CHECK(keep == 0);
	CHECK(fuzz_count_lines(out, ol, "keep-alive", NULL, &other) == 0);
	fuzz_count_lines(out, ol, "proxy-connection", "close", &other);
	CHECK(other == 0);
	fuzz_filter(in, len, &scratch_a);
	fuzz_filter(out, ol, &scratch_b);
	CHECK(fuzz_same(&scratch_a, &scratch_b));

	/* still a head (over the limit the scanner would refuse it) */
	http_request_init(&s2);
	if (ol <= HTTP_HEAD_MAX) {
		CHECK(http_request_scan(&s2, out, ol, &st) == ol);
		CHECK(st == HTTP_HEAD_COMPLETE);
	}
	/* and already says close: a second rewrite is the identity */
	out2 = malloc(http_request_out_room(ol));
	CHECK(out2 != NULL);
	http_request_init(&s2);
	ol2 = http_request_finish_head(&s2, out, ol, out2, &info2);
	CHECK(info2.verdict == HTTP_REQ_REWRITTEN);
	CHECK(info2.close_added == false && info2.lines_changed == 0);
	CHECK(ol2 == ol && memcmp(out2, out, ol) == 0);
	free(out2);
}

/* A complete head of len bytes, ending at input offset `end`. */
static void finish(struct driver *d, const uint8_t *head, size_t len,
		   uint64_t end)
{
	struct http_request_info info;
	size_t room = http_request_out_room(len), ol;
	uint64_t body;
	uint8_t *out = malloc(room);	/* exact: ASan sees any overrun */

	CHECK(out != NULL);
	CHECK(len >= 1 && len <= HTTP_HEAD_MAX);
	filter_answer = -1;
	ol = http_request_finish_head(&d->s, head, len, out, &info);
	CHECK(ol <= room);
	check_filter(d, head, len, &info);
	fuzz_event(&d->ev, end, EV_HEAD + (unsigned)info.verdict);
	if (info.verdict == HTTP_REQ_REWRITTEN) {
		d->rewritten++;
		CHECK(d->s.phase != HTTP_REQ_OPAQUE);
		if (d->check_heads) {
			check_rewritten(head, len, out, ol);
			/* the next head starts right after the body */
			if (fuzz_simple_length(head, len, &body))
				fuzz_expect(&d->expects, d->ev.n - 1,
					    end + body);
		}
	} else {
		/* copied as it is; everything after it passes */
		CHECK(ol == len && memcmp(out, head, len) == 0);
		CHECK(d->s.phase == HTTP_REQ_OPAQUE);
	}
	fuzz_put(&d->out, out, ol);
	free(out);
}

static size_t pass(struct driver *d, const uint8_t *p, size_t n)
{
	struct http_request_stream probe;
	size_t k, half;

	if (!d->pieces)
		return http_request_pass(&d->s, p, n);
	probe = d->s;
	k = http_request_pass(&probe, p, n);
	if (k == 0 || k > n)
		return k;	/* the caller's oracle reports it */
	half = k / 2;
	if (half > 0)
		CHECK(http_request_pass(&d->s, p, half) == half);
	CHECK(http_request_pass(&d->s, p + half, k - half) == k - half);
	CHECK(d->s.phase == probe.phase);
	return k;
}

static void feed(struct driver *d, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k;

		if (d->s.phase == HTTP_REQ_HEAD) {
			enum http_head_status st;
			if (d->held_len == 0)
				fuzz_event(&d->ev, d->pos, EV_HEAD_START);
			k = http_request_scan(&d->s, p, n, &st);
			CHECK(k <= n);
			if (st == HTTP_HEAD_INVALID) {
				fuzz_event(&d->ev, d->pos - d->held_len,
					   EV_HEAD_INVALID);
				http_request_give_up(&d->s);
				fuzz_put(&d->out, d->held, d->held_len);
				d->held_len = 0;
				continue;
			}
			CHECK(st == HTTP_HEAD_COMPLETE ? k >= 1 : k == n);
			if (st == HTTP_HEAD_COMPLETE && d->held_len == 0) {
				/* the common case: the head in one piece */
				finish(d, p, k, d->pos + k);
			} else {
				CHECK(d->held_len + k <= HTTP_HEAD_MAX);
				memcpy(d->held + d->held_len, p, k);
				d->held_len += k;
				if (st == HTTP_HEAD_COMPLETE) {
					finish(d, d->held, d->held_len,
					       d->pos + k);
					d->held_len = 0;
				}
			}
		} else {
			int before = d->s.phase;
			k = pass(d, p, n);
			CHECK(k >= 1 && k <= n);
			if (before != HTTP_REQ_OPAQUE &&
			    d->s.phase == HTTP_REQ_OPAQUE)
				fuzz_event(&d->ev, 0, EV_BODY_GAVE_UP);
			if (d->s.phase == HTTP_REQ_BODY_CHUNKED)
				CHECK(d->s.chunk.line_len <= CHUNKED_LINE_MAX);
			fuzz_put(&d->out, p, k);
		}
		p += k;
		n -= k;
		d->pos += k;
	}
}

/* Runs the stream cut at cuts[0..ncuts) (ascending). */
static void run(struct driver *d, const struct fuzz_input *f, size_t ncuts)
{
	size_t prev = 0, i;

	http_request_init(&d->s);
	if (f->flags & 1) {
		d->s.leave_host_alone = filter;
		d->s.host_ctx = &f->flags;
	}
	d->held_len = 0;
	d->pos = 0;
	d->rewritten = 0;
	d->out.len = 0;
	d->ev.n = 0;
	d->expects.n = 0;
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? f->cuts[i] : f->len;
		feed(d, f->data + prev, end - prev);
		prev = end;
	}
	/* an unfinished head goes out as it came (conn_flush_on_close) */
	fuzz_put(&d->out, d->held, d->held_len);
	fuzz_event(&d->ev, d->held_len, EV_END + d->s.phase);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct driver whole, split;
	struct fuzz_input f;
	size_t i;

	if (!fuzz_decode(data, size, &f))
		return 0;
	if (whole.held == NULL) {
		whole.held = malloc(HTTP_HEAD_MAX);
		split.held = malloc(HTTP_HEAD_MAX);
		CHECK(whole.held != NULL && split.held != NULL);
	}
	whole.check_heads = true;
	run(&whole, &f, 0);
	split.pieces = true;
	run(&split, &f, f.ncuts);

	fuzz_debug_events("whole", &whole.ev, f.len);
	/* 1: split invariance */
	CHECK(fuzz_same(&whole.out, &split.out));
	CHECK(fuzz_same_events(&whole.ev, &split.ev));
	/* 2: fidelity, and framing as the plain model says */
	for (i = 0; i < whole.expects.n; i++) {
		size_t next = whole.expects.e[i].idx + 1;
		uint64_t at = whole.expects.e[i].at;
		unsigned kind;

		CHECK(next < whole.ev.n);
		kind = fuzz_ev_kind(&whole.ev, next);
		if (at < f.len)
			CHECK(kind == EV_HEAD_START &&
			      fuzz_ev_offset(&whole.ev, next) == at);
		else
			CHECK(kind == EV_END + (at == f.len ? HTTP_REQ_HEAD :
						HTTP_REQ_BODY_LENGTH));
	}
	if (whole.rewritten == 0) {
		CHECK(whole.out.len == f.len &&
		      (f.len == 0 || memcmp(whole.out.p, f.data, f.len) == 0));
	} else {
		fuzz_filter(f.data, f.len, &scratch_a);
		fuzz_filter(whole.out.p, whole.out.len, &scratch_b);
		CHECK(fuzz_same(&scratch_a, &scratch_b));
	}
	free(f.data);
	return 0;
}
