/* Unit tests of the pure request rewriter: every case is fed whole, split
 * at every byte boundary, byte by byte and in random pieces; the output
 * must be the expected bytes every time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

static int failures, checks;

/* Drives the stream the way conn_write.c does: head bytes are collected
 * until complete and rewritten in one piece; other bytes pass. */
struct driver {
	struct http_request_stream s;
	uint8_t held[HTTP_HEAD_MAX + 16];
	size_t held_len;
	uint8_t *out;
	size_t out_len;
};

static void emit(struct driver *d, const uint8_t *p, size_t n)
{
	memcpy(d->out + d->out_len, p, n);
	d->out_len += n;
}

static void feed(struct driver *d, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k;
		if (d->s.phase == HTTP_REQ_HEAD) {
			enum http_head_status st;
			k = http_request_scan(&d->s, p, n, &st);
			if (st == HTTP_HEAD_INVALID) {
				http_request_give_up(&d->s);
				emit(d, d->held, d->held_len);
				d->held_len = 0;
				continue;
			}
			memcpy(d->held + d->held_len, p, k);
			d->held_len += k;
			if (st == HTTP_HEAD_COMPLETE) {
				struct http_request_info info;
				uint8_t *o = malloc(http_request_out_room(d->held_len));
				size_t ol = http_request_finish_head(
					&d->s, d->held, d->held_len, o, &info);
				emit(d, o, ol);
				free(o);
				d->held_len = 0;
			}
		} else {
			k = http_request_pass(&d->s, p, n);
			emit(d, p, k);
		}
		p += k;
		n -= k;
	}
}

/* Rewrites `in` cut at the given offsets (ascending). */
static size_t run(const uint8_t *in, size_t n, const size_t *cuts,
		  size_t ncuts, uint8_t *out)
{
	static struct driver d;
	size_t prev = 0, i;

	http_request_init(&d.s);
	d.held_len = 0;
	d.out = out;
	d.out_len = 0;
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		feed(&d, in + prev, end - prev);
		prev = end;
	}
	emit(&d, d.held, d.held_len);	/* what conn flushes at give-up */
	return d.out_len;
}

static void check(const char *name, const char *how, const uint8_t *got,
		  size_t got_len, const char *want, size_t want_len)
{
	checks++;
	if (got_len == want_len && memcmp(got, want, want_len) == 0)
		return;
	failures++;
	if (failures <= 20)
		fprintf(stderr, "FAIL %s (%s):\n--- want (%zu)\n%.*s\n--- got (%zu)\n%.*s\n",
			name, how, want_len, (int)want_len, want, got_len,
			(int)got_len, (const char *)got);
}

static unsigned long long rng = 88172645463325252ULL;
static unsigned long long next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_case(const char *name, const char *in, size_t n,
		      const char *want, size_t want_len)
{
	uint8_t *out = malloc(2 * n + 4096);
	size_t *cuts = malloc((n + 1) * sizeof *cuts);
	size_t k, r, len;

	len = run((const uint8_t *)in, n, NULL, 0, out);
	check(name, "whole", out, len, want, want_len);
	for (k = 1; k < n; k++) {
		char how[32];
		len = run((const uint8_t *)in, n, &k, 1, out);
		snprintf(how, sizeof how, "split at %zu", k);
		check(name, how, out, len, want, want_len);
	}
	for (k = 0; k + 1 < n; k++)
		cuts[k] = k + 1;
	len = run((const uint8_t *)in, n, cuts, n > 0 ? n - 1 : 0, out);
	check(name, "byte by byte", out, len, want, want_len);
	for (r = 0; r < 50; r++) {
		size_t nc = 0, pos = 0;
		while (n > 1 && nc < n - 1) {
			pos += 1 + next_random() % 16;
			if (pos >= n)
				break;
			cuts[nc++] = pos;
		}
		len = run((const uint8_t *)in, n, cuts, nc, out);
		check(name, "random pieces", out, len, want, want_len);
	}
	free(out);
	free(cuts);
}

#define SAME(name, in) test_case(name, in, sizeof in - 1, in, sizeof in - 1)
#define CASE(name, in, want) \
	test_case(name, in, sizeof in - 1, want, sizeof want - 1)

#define GET "GET /x HTTP/1.1\r\nHost: a\r\n"

static void corpus(void)
{
	CASE("no Connection field", GET "\r\n",
	     GET "Connection: close\r\n\r\n");
	CASE("keep-alive becomes close", GET "Connection: keep-alive\r\n\r\n",
	     GET "Connection: close\r\n\r\n");
	CASE("other tokens kept, Keep-Alive dropped",
	     GET "Connection: TE, Keep-Alive\r\nKeep-Alive: timeout=5\r\n"
		 "TE: trailers\r\n\r\n",
	     GET "Connection: TE, close\r\nTE: trailers\r\n\r\n");
	CASE("close once across lines",
	     GET "Connection: keep-alive\r\nConnection: foo, close\r\n\r\n",
	     GET "Connection: foo, close\r\n\r\n");
	SAME("already close, any case", GET "connection:   Close \r\n\r\n");
	CASE("duplicate close", GET "Connection: close, CLOSE\r\n\r\n",
	     GET "Connection: close\r\n\r\n");
	CASE("empty Connection value", GET "Connection:\r\n\r\n",
	     GET "Connection: close\r\n\r\n");
	CASE("Proxy-Connection", GET "Proxy-Connection: keep-alive\r\n\r\n",
	     GET "Proxy-Connection: close\r\nConnection: close\r\n\r\n");
	CASE("bare LF style kept", "GET / HTTP/1.1\nHost: a\n\n",
	     "GET / HTTP/1.1\nHost: a\nConnection: close\n\n");
	CASE("HTTP/1.0", "GET / HTTP/1.0\r\n\r\n",
	     "GET / HTTP/1.0\r\nConnection: close\r\n\r\n");
	CASE("Basic auth is rewritten",
	     GET "Authorization: Basic dTpw\r\n\r\n",
	     GET "Authorization: Basic dTpw\r\nConnection: close\r\n\r\n");
	CASE("body with header-like text, then a pipelined request",
	     "POST /p HTTP/1.1\r\nContent-Length: 28\r\n\r\n"
	     "Connection: keep-alive\r\n\r\nab" GET "\r\n",
	     "POST /p HTTP/1.1\r\nContent-Length: 28\r\nConnection: close\r\n\r\n"
	     "Connection: keep-alive\r\n\r\nab" GET "Connection: close\r\n\r\n");
	CASE("chunked body with extensions and trailers, then a request",
	     "POST /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	     "5;name=\"q;\\\"x\"\r\nhello\r\n"
	     "A\r\nConnection\r\n0;last\r\nX-Sum: 1\r\n\r\n"
	     GET "Connection: keep-alive\r\n\r\n",
	     "POST /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n"
	     "Connection: close\r\n\r\n"
	     "5;name=\"q;\\\"x\"\r\nhello\r\n"
	     "A\r\nConnection\r\n0;last\r\nX-Sum: 1\r\n\r\n"
	     GET "Connection: close\r\n\r\n");
	CASE("empty lines before a later request line",
	     GET "\r\n\r\n" GET "\r\n",
	     GET "Connection: close\r\n\r\n\r\n" GET "Connection: close\r\n\r\n");
	CASE("invalid chunk size: the body passes as it is",
	     "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" GET "\r\n",
	     "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	     "zz\r\n" GET "\r\n");
	/* left alone: the request and everything after it */
	SAME("websocket upgrade",
	     GET "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
	     "\x81\x05hello" GET "\r\n");
	SAME("h2c upgrade", GET "Connection: Upgrade, HTTP2-Settings\r\n"
	     "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");
	SAME("CONNECT tunnel", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"
	     "\x16\x03\x01\x00\x05hello" GET "\r\n");
	SAME("NTLM", GET "Authorization: NTLM TlRMTVNTUAABAAAA\r\n\r\n" GET "\r\n");
	SAME("Negotiate", GET "Proxy-Authorization: Negotiate YII=\r\n\r\n");
	/* not HTTP/1.x, or not certain */
	SAME("TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
	     GET "\r\n");
	SAME("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	SAME("later bytes look like HTTP", "HELLO\r\n" GET "\r\n");
	SAME("HTTP/1.2", "GET / HTTP/1.2\r\n\r\n");
	SAME("obs-fold", GET "X-A: 1\r\n  folded\r\n\r\n");
	SAME("space before colon", GET "Connection : keep-alive\r\n\r\n");
	SAME("bare CR", GET "X-A: 1\r2\r\n\r\n");
	SAME("CL with TE", "POST / HTTP/1.1\r\nContent-Length: 3\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	SAME("two lengths", "POST / HTTP/1.1\r\nContent-Length: 3\r\n"
	     "Content-Length: 4\r\n\r\nabcd");
	SAME("negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
	SAME("TE not chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
	SAME("NUL in a value", GET "X-A: a\0b\r\n\r\n");
}

static void test_long_line(void)
{
	size_t n = HTTP_LINE_MAX + 100, pre = sizeof GET - 1;
	char *in = malloc(n + 16);

	memcpy(in, GET "X-Long: ", pre + 8);
	memset(in + pre + 8, 'a', n - pre - 8);
	memcpy(in + n, "\r\n\r\n", 4);
	/* whole and byte by byte only: every split would be slow */
	{
		uint8_t *out = malloc(2 * n + 64);
		size_t cut = n / 2, len;
		len = run((uint8_t *)in, n + 4, NULL, 0, out);
		check("64 KiB line", "whole", out, len, in, n + 4);
		len = run((uint8_t *)in, n + 4, &cut, 1, out);
		check("64 KiB line", "split", out, len, in, n + 4);
		free(out);
	}
	free(in);
}

int main(void)
{
	corpus();
	test_long_line();
	printf("http_request: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
