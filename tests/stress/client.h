/* client.h - the stress client's HTTP side (client.c) and its scenarios
 * (stress.c: a, b, f; chaos.c: c, d, e). */
#ifndef STRESS_CLIENT_H
#define STRESS_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct settings {
	int port;
	int teardown;		/* FORCECLOSE_ACTION is not none: every
				   response ends its connection */
	int expect_fd;		/* "PORT N[-M] FIRST-TAG" lines, O_APPEND */
	unsigned scale;		/* percent of the default counts */
	uint64_t seed;
};
extern struct settings S;

extern atomic_uint failures;
void fail(char scen, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* a count scaled by S.scale, at least 1 */
unsigned scaled(unsigned n);

struct rng {
	uint64_t s;
};
void rng_seed(struct rng *r, uint64_t a, uint64_t b);
uint32_t rng_below(struct rng *r, uint32_t n);

struct request {
	int head;		/* HEAD rather than GET */
	char kind[8];		/* cl, ch, hold, rel */
	size_t len;		/* body bytes (the stage for rel) */
	char tag[TAG_MAX];
	size_t fill;		/* X-Fill bytes, 0: none */
};

/* A random request for a/b/c/d: cl or ch, sometimes HEAD, some big. */
void request_random(struct request *q, struct rng *r, const char *tag,
		    int allow_head);
/* The request's bytes into buf (at least FILL_MAX + 256); its length. */
size_t request_format(const struct request *q, char *buf);

/* A connected socket to the server, or -1 with errno. */
int connect_server(void);
int local_port(int fd);

/* Writes n bytes with a style chosen by r: one write, send, writev or
 * sendmsg of several pieces, or (split != 0) a head in two writes.
 * Retries EINTR and short writes.  0, or -errno. */
int send_request(int fd, const char *p, size_t n, struct rng *r, int split);

/* A buffered reader over fd with a read style (read, recv, readv,
 * recvmsg) and a size per call; EINTR is retried and counted. */
struct reader {
	int fd;
	int style;
	size_t max;		/* bytes asked for per call */
	size_t pos, len;
	int in_body;		/* the current response's head has been read */
	atomic_uint eintr[2];	/* EINTRs seen in a head, in a body */
	uint8_t buf[65536];
};
void reader_init(struct reader *rd, int fd, struct rng *r);

/* Reads the response to q and checks it (status, X-Tag, Connection:
 * close once and no Keep-Alive when `rewritten`, every body byte).
 * 0, or -1 with the reason in why. */
/* 1 when the head said close (and only that), 0 when it did not, -1 with
 * why on any fault; rewritten: a head that does not say close is one */
int read_response(struct reader *rd, const struct request *q, int rewritten,
		  char *why, size_t whylen);

/* After a response: nothing more arrives, the next read returns 0.
 * 0, or -1 with the reason in why. */
int expect_eof(struct reader *rd, char *why, size_t whylen);

/* One request on its own connection, verified; with S.teardown the
 * connection must then read end of file.  Records the expectation.
 * 0, or -1 after fail(). */
int one_request(char scen, const struct request *q, struct rng *r,
		struct reader *rd);

/* The server must see from lo to hi requests on the connection from
 * port, the first tagged first ("-" when hi is 0). */
/* The same, but the socket is left open (the shim may close it). */
int one_request_kept(char scen, const struct request *q, struct rng *r,
		     struct reader *rd);

void expect_requests(int port, unsigned lo, unsigned hi, const char *first,
		     char scen);
/* The same for a connection the shim gave up (pass-through from then on):
 * its later requests may reach the server without close. */
void expect_requests_passed(int port, unsigned lo, unsigned hi,
			    const char *first, char scen, int passed);

/* Forks scenario d's forking thread has begun, and seen return in the
 * parent.  A head a thread was writing in pieces while one ran may have
 * had its first bytes sent as written by the library's fork handler (no
 * owed byte crosses a fork); the library then gives that connection up
 * (pass-through, tests/process.bats "fork with held head bytes").
 * Counted: requests given up so, all of them verified byte by byte. */
extern atomic_uint forks_begun, forks_ended, fork_passes;

/* Scenarios; each prints its summary line. */
void scenario_a(void);
void scenario_b(void);
void scenario_c(void);
void scenario_d(void);
void scenario_e(void);
void scenario_f(void);

#endif
