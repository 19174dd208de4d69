/* fuzz_tls.c - libFuzzer target for the exchange inside a TLS session
 * (shim/tls_conn.c: the request rewrite on the way out, held heads,
 * owed bytes, the response tracker on the way in, peek, the teardown),
 * driven through struct tls_ops by a TLS library made of memory: no
 * socket, no OpenSSL.  tls_teardown() (tls_session.c, which touches
 * sockets) is replaced by one that only records.
 *
 * The input (fuzz_common.h): the stream is what the server sends; the
 * cuts are its record boundaries (a recv never crosses one, and the first
 * recv at each boundary answers "try again"); flags:
 *   bits 0-1  requests written before reading: 1 to 4, pipelined
 *   bit 2     the first request is HEAD
 *   bit 3     FORCECLOSE_ACTION=none (else shutdown)
 *   bit 4     peek before every read
 *   bits 5-7  the program's read size: 1 << (2 * value) bytes (1 B-16 KiB)
 * Sends are short (at most 7 bytes) and every third one says "try again".
 *
 * Oracles:
 *  1. write side: the calls report exactly the program's bytes, a retry
 *     (same arguments, as OpenSSL requires) always makes progress, and the
 *     bytes sent are the program's apart from connection-header lines;
 *  2. reads never return more than asked, and a failure is the library's
 *     own ("try again") answer, passed on;
 *  3. a peek shows what the next read returns;
 *  4. at the end of the stream, or at the teardown, the program has read
 *     every byte the library handed over, apart from connection-header
 *     lines: nothing lost, nothing stranded, nothing added;
 *  5. after the teardown a read is a clean end (0) and a write fails. */
#include "fuzz_common.h"

#include <errno.h>

#include "config.h"
#include "conn.h"
#include "stats.h"
#include "tls_conn.h"

/* what tls_conn.c links against besides the pure core */
struct config config;
struct settings settings;
struct stats stats;

#define AGAIN (-2L)

struct fake {
	const uint8_t *in;	/* the server's plaintext */
	size_t len, pos;
	const size_t *cuts;
	size_t ncuts, cut;	/* next boundary at or after pos */
	bool again_given;	/* at the current boundary */
	unsigned sends;
	struct fuzz_buf sent;
	long last;		/* the last recv/peek answer */
	bool torn_down;
	size_t torn_at;		/* pos at the teardown */
};

static struct fake fk;

/* How far the current record goes. */
static size_t record_end(void)
{
	while (fk.cut < fk.ncuts && fk.cuts[fk.cut] < fk.pos)
		fk.cut++;
	if (fk.cut < fk.ncuts && fk.cuts[fk.cut] == fk.pos) {
		if (!fk.again_given)
			return fk.pos;	/* "try again" first, once */
		while (fk.cut < fk.ncuts && fk.cuts[fk.cut] == fk.pos)
			fk.cut++;
		fk.again_given = false;
	}
	return fk.cut < fk.ncuts ? fk.cuts[fk.cut] : fk.len;
}

static long take(void *p, size_t n, bool consume)
{
	size_t end = record_end(), k;

	if (end == fk.pos && fk.pos < fk.len) {
		fk.again_given = true;
		return fk.last = AGAIN;
	}
	if (fk.pos == fk.len)
		return fk.last = 0;
	k = end - fk.pos < n ? end - fk.pos : n;
	memcpy(p, fk.in + fk.pos, k);
	if (consume)
		fk.pos += k;
	return fk.last = (long)k;
}

static long op_send(void *s, const void *p, size_t n)
{
	(void)s;
	if (++fk.sends % 3 == 0)
		return AGAIN;
	if (n > 7)
		n = 7;
	fuzz_put(&fk.sent, p, n);
	return (long)n;
}

static long op_recv(void *s, void *p, size_t n)
{
	(void)s;
	return take(p, n, true);
}

static long op_peek(void *s, void *p, size_t n)
{
	(void)s;
	return take(p, n, false);
}

static bool op_retry(void *s, long r)
{
	(void)s;
	return r == AGAIN;
}

static int op_socket(void *s)
{
	(void)s;
	return -1;
}

static const struct tls_ops ops = {
	.send = op_send, .recv = op_recv, .peek = op_peek,
	.retry = op_retry, .socket = op_socket, .kind = "fuzz",
};

/* tls_session.c's, without the socket: what the read that delivers the
 * last byte of the final response does to the session. */
void tls_teardown(struct tls_conn *t)
{
	CHECK(!fk.torn_down);
	fk.torn_down = true;
	fk.torn_at = fk.pos;
	if (config.action != CONN_ACTION_NONE)
		t->torn_down = true;
}

static struct fuzz_buf prog, want_a, want_b, got;

static void write_all(struct tls_conn *t, const uint8_t *p, size_t n)
{
	unsigned stuck = 0;
	size_t sent;
	long r;

	while (n > 0) {
		sent = fk.sent.len;
		r = tls_exchange_write(t, p, n);
		if (r > 0) {
			CHECK((size_t)r <= n);
			p += r;
			n -= (size_t)r;
			stuck = 0;
			continue;
		}
		CHECK(r == AGAIN);	/* the library's own answer */
		/* a retry makes progress */
		stuck = fk.sent.len > sent ? 0 : stuck + 1;
		CHECK(stuck < 4);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[16384], pk[16384];
	struct fuzz_input in;
	struct tls_conn *t;
	unsigned nreq, i, stuck = 0;
	size_t rsize, pos;
	char req[64];
	long r, pr;

	if (!fuzz_decode(data, size, &in))
		return 0;
	memset(&fk, 0, sizeof fk);
	fk.in = in.data;
	fk.len = in.len;
	fk.cuts = in.cuts;
	fk.ncuts = in.ncuts;
	prog.len = got.len = 0;
	config.action = in.flags & 8 ? CONN_ACTION_NONE : CONN_ACTION_SHUTDOWN;
	nreq = 1 + (in.flags & 3);
	rsize = (size_t)1 << (2 * ((in.flags >> 5) & 7));
	if (rsize > sizeof buf)
		rsize = sizeof buf;

	t = calloc(1, sizeof *t);
	CHECK(t != NULL);
	t->ops = &ops;
	t->fd = -1;
	http_request_init(&t->req);
	http_response_init(&t->resp);

	for (i = 0; i < nreq; i++) {
		int l = snprintf(req, sizeof req, "%s /%u HTTP/1.1\r\nHost: f"
				 "\r\nConnection: keep-alive\r\n\r\n",
				 i == 0 && in.flags & 4 ? "HEAD" : "GET", i);
		fuzz_put(&prog, req, (size_t)l);
		write_all(t, (const uint8_t *)req, (size_t)l);
	}
	fuzz_filter(prog.p, prog.len, &want_a);
	fuzz_filter(fk.sent.p, fk.sent.len, &want_b);
	CHECK(fuzz_same(&want_a, &want_b));

	for (;;) {
		pos = fk.pos;
		pr = -1;
		if (in.flags & 16) {
			pr = tls_exchange_read(t, pk, rsize, true);
			CHECK(pr <= (long)rsize);
			CHECK(pr > 0 || pr == fk.last || t->torn_down);
		}
		r = tls_exchange_read(t, buf, rsize, false);
		CHECK(r <= (long)rsize);
		if (pr > 0 && r > 0)
			CHECK(memcmp(pk, buf, (size_t)(pr < r ? pr : r)) == 0);
		if (r > 0) {
			fuzz_put(&got, buf, (size_t)r);
			stuck = 0;
			continue;
		}
		if (r == 0)
			break;
		CHECK(r == AGAIN && fk.last == AGAIN);
		/* a "try again" that took a record (a head held whole until
		 * its end) is progress; four in a row that took nothing are
		 * a stall */
		stuck = fk.pos > pos ? 0 : stuck + 1;
		CHECK(stuck < 4);
	}
	/* the end: of the stream, or the session torn down */
	if (t->torn_down) {
		CHECK(fk.torn_down);
		fuzz_filter(fk.in, fk.torn_at, &want_a);
		CHECK(tls_exchange_read(t, buf, 1, false) == 0);
		CHECK(tls_exchange_write(t, "x", 1) < 0 && errno == EPIPE);
	} else {
		CHECK(fk.pos == fk.len);
		fuzz_filter(fk.in, fk.len, &want_a);
	}
	fuzz_filter(got.p, got.len, &want_b);
	CHECK(fuzz_same(&want_a, &want_b));

	free(t->held);
	free(t->pending);
	free(t->rin);
	free(t->rout);
	free(t);
	free(fk.sent.p);
	free(in.data);
	return 0;
}
