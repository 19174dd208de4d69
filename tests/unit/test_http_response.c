/* Unit tests of the pure response tracker: each stream of responses is fed
 * whole, split at every byte boundary and byte by byte; the output bytes
 * and the offsets where responses complete must be the same every time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_response.h"

static int failures, checks;

#define MAX_DONE 8

struct result {
	uint8_t *out;
	size_t out_len;
	size_t done[MAX_DONE];	/* input offsets where responses completed */
	int ndone;
};

/* Drives the tracker as conn_read.c does: a head is collected until it is
 * complete and rewritten whole; body bytes pass and are counted. */
static void run(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts,
		const char *to_head, struct result *res)
{
	static uint8_t held[HTTP_HEAD_MAX + 16];
	struct http_response_stream s;
	size_t held_len = 0, prev = 0, pos = 0, i, answered = 0;

	http_response_init(&s);
	res->out_len = 0;
	res->ndone = 0;
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		const uint8_t *p = in + prev;
		size_t left = end - prev;
		while (left > 0) {
			size_t k;
			bool complete = false;
			if (s.phase == HTTP_RESP_HEAD) {
				enum http_head_status st;
				k = http_response_scan(&s, p, left, &st);
				if (st == HTTP_HEAD_INVALID) {
					http_response_give_up(&s);
					memcpy(res->out + res->out_len, held, held_len);
					res->out_len += held_len;
					held_len = 0;
					continue;
				}
				memcpy(held + held_len, p, k);
				held_len += k;
				if (st == HTTP_HEAD_COMPLETE) {
					struct http_response_info info;
					res->out_len += http_response_finish_head(
						&s, held, held_len,
						to_head[answered] == 'H',
						res->out + res->out_len, &info);
					held_len = 0;
					if (info.verdict != HTTP_RESP_INTERIM)
						answered++;
					complete = info.complete;
				}
			} else {
				k = http_response_pass(&s, p, left, &complete);
				memcpy(res->out + res->out_len, p, k);
				res->out_len += k;
			}
			p += k;
			left -= k;
			pos += k;
			if (complete && res->ndone < MAX_DONE)
				res->done[res->ndone++] = pos;
		}
		prev = end;
	}
	memcpy(res->out + res->out_len, held, held_len);
	res->out_len += held_len;
}

static void check(const char *name, const char *how, const struct result *r,
		  const char *want, size_t want_len, const size_t *done,
		  int ndone)
{
	checks++;
	if (r->out_len == want_len && memcmp(r->out, want, want_len) == 0 &&
	    r->ndone == ndone &&
	    memcmp(r->done, done, (size_t)ndone * sizeof *done) == 0)
		return;
	failures++;
	if (failures <= 10)
		fprintf(stderr, "FAIL %s (%s): %d completions (want %d%s)\n"
			"--- want\n%.*s\n--- got\n%.*s\n", name, how, r->ndone,
			ndone, r->ndone ? "" : "", (int)want_len, want,
			(int)r->out_len, (const char *)r->out);
}

static void test_case(const char *name, const char *in, size_t n,
		      const char *to_head, const char *want, size_t want_len,
		      const size_t *done, int ndone)
{
	struct result r;
	size_t *cuts = malloc((n + 1) * sizeof *cuts), k;

	r.out = malloc(2 * n + 4096);
	run((const uint8_t *)in, n, NULL, 0, to_head, &r);
	check(name, "whole", &r, want, want_len, done, ndone);
	for (k = 1; k < n; k++) {
		char how[32];
		run((const uint8_t *)in, n, &k, 1, to_head, &r);
		snprintf(how, sizeof how, "split at %zu", k);
		check(name, how, &r, want, want_len, done, ndone);
	}
	for (k = 0; k + 1 < n; k++)
		cuts[k] = k + 1;
	run((const uint8_t *)in, n, cuts, n > 0 ? n - 1 : 0, to_head, &r);
	check(name, "byte by byte", &r, want, want_len, done, ndone);
	free(r.out);
	free(cuts);
}

#define L(s) (sizeof(s) - 1)
/* a case whose responses complete at the given input offsets */
#define CASE(name, to_head, in, want, ...)                                  \
	do {                                                                \
		static const size_t done_[] = { __VA_ARGS__ };              \
		test_case(name, in, L(in), to_head, want, L(want), done_,   \
			  (int)(sizeof done_ / sizeof done_[0]) - 1);       \
	} while (0)
#define END ((size_t)-1)	/* terminates the offset list */

#define OK200 "HTTP/1.1 200 OK\r\n"
#define CL5 "Content-Length: 5\r\n"
#define CLOSE "Connection: close\r\n"

int main(void)
{
	CASE("Content-Length", "G", OK200 CL5 "\r\nhello",
	     OK200 CL5 CLOSE "\r\nhello", L(OK200 CL5 "\r\nhello"), END);
	CASE("HTTP/1.0 keep-alive", "G",
	     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	     "Keep-Alive: timeout=5, max=100\r\n" CL5 "\r\nhello",
	     "HTTP/1.0 200 OK\r\nConnection: close\r\n" CL5 "\r\nhello",
	     L("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	       "Keep-Alive: timeout=5, max=100\r\n" CL5 "\r\nhello"), END);
	CASE("other tokens keep their separators", "G",
	     OK200 "Connection: a,keep-alive,b\r\n" CL5 "\r\nhello",
	     OK200 "Connection: a,b, close\r\n" CL5 "\r\nhello",
	     L(OK200 "Connection: a,keep-alive,b\r\n" CL5 "\r\nhello"), END);
	CASE("already close", "G", OK200 "connection: Close\r\n" CL5 "\r\nhello",
	     OK200 "connection: Close\r\n" CL5 "\r\nhello",
	     L(OK200 "connection: Close\r\n" CL5 "\r\nhello"), END);
	CASE("chunked, extensions, trailers", "G",
	     OK200 "Transfer-Encoding: chunked\r\n\r\n"
	     "5;a=\"x;\\\"y\"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
	     OK200 "Transfer-Encoding: chunked\r\n" CLOSE "\r\n"
	     "5;a=\"x;\\\"y\"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
	     L(OK200 "Transfer-Encoding: chunked\r\n\r\n"
	       "5;a=\"x;\\\"y\"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"), END);
	CASE("100 Continue passes untouched", "G",
	     "HTTP/1.1 100 Continue\r\n\r\n" OK200 CL5 "\r\nhello",
	     "HTTP/1.1 100 Continue\r\n\r\n" OK200 CL5 CLOSE "\r\nhello",
	     L("HTTP/1.1 100 Continue\r\n\r\n" OK200 CL5 "\r\nhello"), END);
	CASE("two 103 Early Hints", "G",
	     "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
	     "HTTP/1.1 103 Early Hints\r\nConnection: keep-alive\r\n\r\n"
	     OK200 CL5 "\r\nhello",
	     "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
	     "HTTP/1.1 103 Early Hints\r\nConnection: keep-alive\r\n\r\n"
	     OK200 CL5 CLOSE "\r\nhello",
	     L("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
	       "HTTP/1.1 103 Early Hints\r\nConnection: keep-alive\r\n\r\n"
	       OK200 CL5 "\r\nhello"), END);
	CASE("HEAD: no body whatever the length", "H",
	     OK200 "Content-Length: 100\r\n\r\n",
	     OK200 "Content-Length: 100\r\n" CLOSE "\r\n",
	     L(OK200 "Content-Length: 100\r\n\r\n"), END);
	CASE("204", "G", "HTTP/1.1 204 No Content\r\n" CL5 "\r\n",
	     "HTTP/1.1 204 No Content\r\n" CL5 CLOSE "\r\n",
	     L("HTTP/1.1 204 No Content\r\n" CL5 "\r\n"), END);
	CASE("304", "G", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
	     "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n" CLOSE "\r\n",
	     L("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"), END);
	CASE("bare LF", "G", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
	     "HTTP/1.1 200 OK\nContent-Length: 2\nConnection: close\n\nhi",
	     L("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi"), END);
	CASE("pipelined: GET then HEAD then GET", "GHG",
	     OK200 CL5 "\r\nhello" OK200 CL5 "\r\n" OK200 "Content-Length: 0\r\n\r\n",
	     OK200 CL5 CLOSE "\r\nhello" OK200 CL5 CLOSE "\r\n"
	     OK200 "Content-Length: 0\r\n" CLOSE "\r\n",
	     L(OK200 CL5 "\r\nhello"), L(OK200 CL5 "\r\nhello" OK200 CL5 "\r\n"),
	     L(OK200 CL5 "\r\nhello" OK200 CL5 "\r\n"
	       OK200 "Content-Length: 0\r\n\r\n"), END);
	CASE("close-delimited: rewritten, never complete", "G",
	     "HTTP/1.0 200 OK\r\n\r\nbody until the end",
	     "HTTP/1.0 200 OK\r\n" CLOSE "\r\nbody until the end", END);
	CASE("TE without chunked: close-delimited", "G",
	     OK200 "Transfer-Encoding: gzip\r\n\r\nxyz",
	     OK200 "Transfer-Encoding: gzip\r\n" CLOSE "\r\nxyz", END);
	CASE("bad chunk size: body passes, never complete", "G",
	     OK200 "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx",
	     OK200 "Transfer-Encoding: chunked\r\n" CLOSE "\r\n"
	     "10000000000000000\r\nx", END);
	/* left exactly as they are */
#define SAME(name, in) CASE(name, "G", in, in, END)
	SAME("two Content-Lengths", OK200 CL5 "Content-Length: 6\r\n\r\nhello!");
	SAME("CL with TE", OK200 CL5 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	SAME("negative length", OK200 "Content-Length: -1\r\n\r\nabc");
	SAME("overflowing length", OK200 "Content-Length: 99999999999999999999\r\n\r\n");
	SAME("garbage status line", "HTTP/1.1 2OO OK\r\n\r\n");
	SAME("not HTTP", "SSH-2.0-OpenSSH_9.2\r\n");
	SAME("bare CR", OK200 "X-A: 1\r2\r\n" CL5 "\r\nhello");
	SAME("obs-fold", OK200 "X-A: 1\r\n 2\r\n" CL5 "\r\nhello");
	SAME("101 tunnel", "HTTP/1.1 101 Switching Protocols\r\n"
	     "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x01x");
	/* what a read may have of an unfinished head */
	{
		static const struct { const char *head; size_t stable; } st[] = {
			{ "HTTP/1.1 2", 10 },
			{ "HTTP/1.1 200 OK\r\n", 17 },
			{ "HTTP/1.1 200 OK\r\nContent-Type: te", 33 },
			{ "HTTP/1.1 200 OK\r\nConte", 22 },
			{ "HTTP/1.1 200 OK\r\nConn", 17 },
			{ "HTTP/1.1 200 OK\r\nkeep", 17 },
			{ "HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: x\r\nX-B: 2\r\n", 25 },
			{ "HTTP/1.1 200 OK\r\nX-A: 1\r\nKeep-Alive: 5\r\n", 25 },
			{ "HTTP/1.1 200 OK\r\nX-A: 1\r\n\r", 25 },
			{ "HTTP/1.1 200 OK\r\nX-A: 1\r\n", 25 },
		};
		for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
			size_t got = http_response_stable(
				(const uint8_t *)st[i].head, strlen(st[i].head));
			checks++;
			if (got != st[i].stable) {
				failures++;
				printf("FAIL stable(\"%s\") = %zu, want %zu\n",
				       st[i].head, got, st[i].stable);
			}
		}
	}
	printf("http_response: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
