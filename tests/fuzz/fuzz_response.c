/* fuzz_response.c - libFuzzer target for the response tracker
 * (http_response_* and the chunked decoder, http_head and http_fields
 * under them).
 *
 * The stream is driven as conn_read.c drives it: a head is collected until
 * complete (or rewritten straight from the input when it came in one
 * piece) and rewritten into a buffer of exactly http_response_out_room(len)
 * bytes, answering a HEAD request when the input's flag bit for that
 * response says so; body bytes go through http_response_pass.  Fed whole,
 * then cut where the input says (body bytes then looked ahead on a copy and
 * committed in two pieces, as read_chunked does with a peek).  Oracles:
 *  1. split invariance: the offsets where responses complete, the verdicts
 *     and where the tracker gave up, and the output bytes are the same;
 *  2. completion never beyond the bytes given (every call returns at most
 *     what it was handed, and makes progress);
 *  3. body bytes pass unchanged: without Connection and Keep-Alive lines,
 *     output and input are equal; heads other than FINAL are copied as
 *     they are, and with no FINAL head the output is the input;
 *  4. bounds: held head <= HTTP_HEAD_MAX, output within its room (the
 *     in-place rewrite in read_direct relies on it), framing lines within
 *     CHUNKED_LINE_MAX;
 *  5. a FINAL head says close exactly once, no keep-alive, is a valid head
 *     again (within the limit), and rewriting it again changes nothing;
 *  6. framing: a FINAL response with one plain Content-Length (digits
 *     only, no Transfer-Encoding; not HEAD, 204 or 304) completes exactly
 *     that many bytes after its head. */
#include "fuzz_common.h"

#include "http_response.h"

enum {
	EV_HEAD = 1,		/* + verdict */
	EV_HEAD_INVALID = 16,
	EV_BODY_GAVE_UP = 17,
	EV_COMPLETE = 18,
	EV_END = 32,		/* + phase */
};

struct driver {
	struct http_response_stream s;
	uint8_t *held;		/* HTTP_HEAD_MAX bytes */
	size_t held_len;
	uint64_t pos;		/* input offset of the next byte */
	unsigned answered;	/* final (and invalid, tunnel) heads so far */
	uint8_t to_head;	/* bit i: response i answers a HEAD request */
	bool pieces;
	bool check_heads;
	unsigned final;
	struct fuzz_buf out;
	struct fuzz_events ev;
	struct fuzz_expects expects;	/* framing model, whole run only */
};

static struct fuzz_buf scratch_a, scratch_b;

static void check_final(const uint8_t *in, size_t len, const uint8_t *out,
			size_t ol, bool to_head,
			const struct http_response_info *info)
{
	unsigned close, keep, other;
	struct http_response_stream s2;
	struct http_response_info info2;
	enum http_head_status st;
	uint8_t *out2;
	size_t ol2;

	fuzz_count_conn_tokens(out, ol, &close, &keep);
	CHECK(close == 1);
	CHECK(keep == 0);
	CHECK(fuzz_count_lines(out, ol, "keep-alive", NULL, &other) == 0);
	fuzz_filter(in, len, &scratch_a);
	fuzz_filter(out, ol, &scratch_b);
	CHECK(fuzz_same(&scratch_a, &scratch_b));
	CHECK(info->status >= 200 && info->status <= 599);

	http_response_init(&s2);
	if (ol <= HTTP_HEAD_MAX) {
		CHECK(http_response_scan(&s2, out, ol, &st) == ol);
		CHECK(st == HTTP_HEAD_COMPLETE);
	}
	out2 = malloc(http_response_out_room(ol));
	CHECK(out2 != NULL);
	http_response_init(&s2);
	ol2 = http_response_finish_head(&s2, out, ol, to_head, out2, &info2);
	CHECK(info2.verdict == HTTP_RESP_FINAL);
	CHECK(info2.complete == info->complete);
	CHECK(info2.close_added == false && info2.lines_changed == 0);
	CHECK(ol2 == ol && memcmp(out2, out, ol) == 0);
	free(out2);
}

/* A complete head of len bytes, ending at input offset `end`. */
static void finish(struct driver *d, const uint8_t *head, size_t len,
		   uint64_t end)
{
	struct http_response_info info;
	size_t room = http_response_out_room(len), ol;
	uint8_t *out = malloc(room);	/* exact: ASan sees any overrun */
	bool to_head = (d->to_head >> (d->answered % 8)) & 1;
	uint64_t body;

	CHECK(out != NULL);
	CHECK(len >= 1 && len <= HTTP_HEAD_MAX);
	ol = http_response_finish_head(&d->s, head, len, to_head, out, &info);
	CHECK(ol <= room);
	/* what an unfinished head may give the program early is left as it
	 * is by the rewrite: every prefix, checked at a few cut points */
	for (size_t cut = 1; cut < len; cut += 1 + cut / 2) {
		size_t st = http_response_stable(head, cut);
		CHECK(st <= cut && st <= ol && memcmp(out, head, st) == 0);
	}
	if (info.verdict != HTTP_RESP_INTERIM)
		d->answered++;
	fuzz_event(&d->ev, end, EV_HEAD + (unsigned)info.verdict);
	if (info.complete)
		fuzz_event(&d->ev, end, EV_COMPLETE);
	if (info.verdict == HTTP_RESP_FINAL) {
		d->final++;
		if (d->check_heads) {
			check_final(head, len, out, ol, to_head, &info);
			/* it completes right after its body */
			if (!to_head && info.status != 204 &&
			    info.status != 304 &&
			    fuzz_simple_length(head, len, &body))
				fuzz_expect(&d->expects,
					    d->ev.n - 1 - info.complete,
					    end + body);
		}
		if (info.complete)
			CHECK(d->s.phase == HTTP_RESP_HEAD);
	} else {
		CHECK(ol == len && memcmp(out, head, len) == 0);
		CHECK(!info.complete);
		CHECK(d->s.phase == (info.verdict == HTTP_RESP_INTERIM ?
				     HTTP_RESP_HEAD : HTTP_RESP_OPAQUE));
	}
	fuzz_put(&d->out, out, ol);
	free(out);
}

static size_t pass(struct driver *d, const uint8_t *p, size_t n,
		   bool *complete)
{
	struct http_response_stream probe;
	size_t k, half;
	bool c1, c2;

	if (!d->pieces)
		return http_response_pass(&d->s, p, n, complete);
	probe = d->s;
	k = http_response_pass(&probe, p, n, complete);
	if (k == 0 || k > n)
		return k;	/* the caller's oracle reports it */
	half = k / 2;
	c1 = false;
	if (half > 0)
		CHECK(http_response_pass(&d->s, p, half, &c1) == half);
	CHECK(!c1);
	CHECK(http_response_pass(&d->s, p + half, k - half, &c2) == k - half);
	CHECK(c2 == *complete);
	CHECK(d->s.phase == probe.phase);
	return k;
}

static void feed(struct driver *d, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k;

		if (d->s.phase == HTTP_RESP_HEAD) {
			enum http_head_status st;
			k = http_response_scan(&d->s, p, n, &st);
			CHECK(k <= n);
			if (st == HTTP_HEAD_INVALID) {
				fuzz_event(&d->ev, d->pos - d->held_len,
					   EV_HEAD_INVALID);
				http_response_give_up(&d->s);
				fuzz_put(&d->out, d->held, d->held_len);
				d->held_len = 0;
				continue;
			}
			CHECK(st == HTTP_HEAD_COMPLETE ? k >= 1 : k == n);
			if (st == HTTP_HEAD_COMPLETE && d->held_len == 0) {
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
			bool complete = false;

			k = pass(d, p, n, &complete);
			CHECK(k >= 1 && k <= n);
			CHECK(!complete || d->s.phase == HTTP_RESP_HEAD);
			if (complete)
				fuzz_event(&d->ev, d->pos + k, EV_COMPLETE);
			if (before != HTTP_RESP_OPAQUE &&
			    d->s.phase == HTTP_RESP_OPAQUE)
				fuzz_event(&d->ev, 0, EV_BODY_GAVE_UP);
			if (d->s.phase == HTTP_RESP_BODY_CHUNKED)
				CHECK(d->s.chunk.line_len <= CHUNKED_LINE_MAX);
			fuzz_put(&d->out, p, k);
		}
		p += k;
		n -= k;
		d->pos += k;
	}
}

static void run(struct driver *d, const struct fuzz_input *f, size_t ncuts)
{
	size_t prev = 0, i;

	http_response_init(&d->s);
	d->held_len = 0;
	d->pos = 0;
	d->answered = 0;
	d->final = 0;
	d->to_head = f->flags;
	d->out.len = 0;
	d->ev.n = 0;
	d->expects.n = 0;
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? f->cuts[i] : f->len;
		feed(d, f->data + prev, end - prev);
		prev = end;
	}
	/* a cut head reaches the program as it came */
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
	/* completion where the plain model says */
	for (i = 0; i < whole.expects.n; i++) {
		size_t next = whole.expects.e[i].idx + 1;
		uint64_t at = whole.expects.e[i].at;
		unsigned kind;

		CHECK(next < whole.ev.n);
		kind = fuzz_ev_kind(&whole.ev, next);
		if (at <= f.len)
			CHECK(kind == EV_COMPLETE &&
			      fuzz_ev_offset(&whole.ev, next) == at);
		else
			CHECK(kind == EV_END + HTTP_RESP_BODY_LENGTH);
	}
	/* 3: body bytes unchanged; heads changed only in connection lines */
	if (whole.final == 0) {
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
