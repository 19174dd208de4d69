/* header_bench.c - figure 6: the shim's head work per request/response,
 * the pure parsers driven the way shim/conn_write.c and conn_read.c drive
 * them: scan the head (http_request_scan / http_response_scan), collect it,
 * then rewrite it with *_finish_head into a malloc'd buffer.
 *
 *   one call:     the whole head in one scan, finish_head on it in place
 *   byte by byte: one scan per byte, each byte appended to a held buffer
 *                 (as held_append does), finish_head on the held buffer
 *
 * Usage: header_bench RUNS SECONDS_PER_MEASUREMENT
 * Prints one FIG line per row (TAB-separated); progress on stderr.
 *
 * cc -O2 -Ishim tests/bench/header_bench.c shim/http_fields.c \
 *    shim/http_head.c shim/http_request.c shim/http_response.c shim/chunked.c
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_request.h"
#include "http_response.h"

static volatile size_t sink;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A request or response head with `lines` field lines. */
static size_t make_head(char *b, size_t cap, int response, int lines)
{
	static const char *names[] = { "Accept", "Accept-Language",
		"User-Agent", "Cache-Control", "X-Request-Id", "Cookie",
		"X-Forwarded-For", "Accept-Encoding", "Referer", "X-Trace" };
	size_t n;
	int i = 0;

	if (response) {
		n = (size_t)snprintf(b, cap, "HTTP/1.1 200 OK\r\n"
				     "Content-Length: 2\r\n");
	} else {
		n = (size_t)snprintf(b, cap, "GET /api/v1/items?page=3 "
				     "HTTP/1.1\r\nHost: example.com\r\n");
	}
	for (i = 1; i < lines; i++)
		n += (size_t)snprintf(b + n, cap - n,
			"%s-%d: value-%d-abcdefghijklmnopqrstuvwxyz0123\r\n",
			names[i % 10], i, i * 7919);
	n += (size_t)snprintf(b + n, cap - n, "\r\n");
	return n;
}

static uint8_t held[1 << 16];

/* Collects one head as the shim does: scanned in one call, or one byte
 * per call with each byte appended to a held buffer.  Returns the head's
 * length (via *head), or 0 when it did not complete exactly at len. */
static size_t collect(struct http_head_scanner *sc, const uint8_t *h,
		      size_t len, int bytewise, const uint8_t **head)
{
	enum http_head_status st = HTTP_HEAD_MORE;
	size_t used = 0;

	*head = h;
	if (!bytewise) {
		used = http_head_scan(sc, h, len, &st);
	} else {
		for (size_t i = 0; i < len && st == HTTP_HEAD_MORE; i++) {
			size_t k = http_head_scan(sc, h + i, 1, &st);
			memcpy(held + used, h + i, k);
			used += k;
		}
		*head = held;
	}
	return st == HTTP_HEAD_COMPLETE && used == len ? used : 0;
}

/* One request, as conn_write.c's absorb_head + finish_head. */
static int do_request(const uint8_t *h, size_t len, int bytewise)
{
	struct http_request_stream s;
	struct http_request_info info;
	const uint8_t *head;
	size_t used;

	http_request_init(&s);
	used = collect(&s.head, h, len, bytewise, &head);
	if (used == 0)
		return -1;
	uint8_t *out = malloc(http_request_out_room(used));
	size_t n = http_request_finish_head(&s, head, used, out, &info);
	sink += n + out[n - 3];
	free(out);
	return info.verdict == HTTP_REQ_REWRITTEN && info.close_added ? 0 : -1;
}

/* One response, as conn_read.c's fill: scan, then finish_head. */
static int do_response(const uint8_t *h, size_t len, int bytewise)
{
	struct http_response_stream s;
	struct http_response_info info;
	const uint8_t *head;
	size_t used;

	http_response_init(&s);
	used = collect(&s.head, h, len, bytewise, &head);
	if (used == 0)
		return -1;
	uint8_t *out = malloc(http_response_out_room(used));
	size_t n = http_response_finish_head(&s, head, used, false, out,
					     &info);
	sink += n + out[n - 3];
	free(out);
	return info.verdict == HTTP_RESP_FINAL && info.close_added ? 0 : -1;
}

static int one(int response, const uint8_t *h, size_t len, int bytewise)
{
	return response ? do_response(h, len, bytewise)
			: do_request(h, len, bytewise);
}

/* ns per message over iters iterations */
static double measure(int response, const uint8_t *h, size_t len,
		      int bytewise, long iters)
{
	double t0 = now_ns();
	for (long i = 0; i < iters; i++)
		one(response, h, len, bytewise);
	return (now_ns() - t0) / (double)iters;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	double secs = argc > 2 ? atof(argv[2]) : 0.2;
	struct { int response, lines; } rows[] = {
		{ 0, 5 }, { 0, 20 }, { 0, 60 }, { 1, 20 } };

	if (runs < 1 || runs > 100)
		runs = 5;
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		static char buf[1 << 15];
		int resp = rows[r].response;
		size_t len = make_head(buf, sizeof buf, resp, rows[r].lines);
		const uint8_t *h = (const uint8_t *)buf;
		double a[100], b[100], ratio[100];

		if (one(resp, h, len, 0) || one(resp, h, len, 1)) {
			fprintf(stderr, "header_bench: the %s with %d lines "
				"was not rewritten to say close\n",
				resp ? "response" : "request", rows[r].lines);
			return 1;
		}
		/* calibrate: iterations for `secs` per measurement */
		long ia = 1000, ib = 100;
		double ta = measure(resp, h, len, 0, ia);
		double tb = measure(resp, h, len, 1, ib);
		ia = (long)(secs * 1e9 / ta) + 1;
		ib = (long)(secs * 1e9 / tb) + 1;
		measure(resp, h, len, 0, ia / 10 + 1);	/* warm up */
		for (int i = 0; i < runs; i++) {
			a[i] = measure(resp, h, len, 0, ia);
			b[i] = measure(resp, h, len, 1, ib);
			ratio[i] = b[i] / a[i];
			fprintf(stderr, "header_bench: %s %d lines (%zu bytes)"
				" run %d/%d: one call %.0f ns, byte by byte "
				"%.0f ns\n", resp ? "response" : "request",
				rows[r].lines, len, i + 1, runs, a[i], b[i]);
		}
		double ma = median(a, runs), mb = median(b, runs);
		double mr = median(ratio, runs);	/* sorts ratio */
		printf("FIG\tfig6 header work: %s, %d header lines "
		       "(%zu bytes), ns per %s\tone call: %.0f ns\t"
		       "byte by byte: %.0f ns\t%.3f\t%.3f–%.3f\t%d\n",
		       resp ? "response tracker" : "request rewriter",
		       rows[r].lines, len, resp ? "response" : "request",
		       ma, mb, mr, ratio[0], ratio[runs - 1], runs);
		fflush(stdout);
	}
	return 0;
}
