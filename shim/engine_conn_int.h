/* engine_conn_int.h - inside an engine connection (engine_conn.c,
 * engine_req.c, engine_resp.c); nothing else looks here. */
#ifndef FORCECLOSE_ENGINE_CONN_INT_H
#define FORCECLOSE_ENGINE_CONN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "http_request.h"
#include "http_response.h"
#include "observe.h"

enum {
	EC_REQ_OPAQUE = 1u << 0,	/* request side passes through */
	EC_RESP_OPAQUE = 1u << 1,	/* response side passes through */
	EC_TORN_DOWN = 1u << 2,		/* the engine shut it down */
	EC_GAVE_UP = 1u << 3,		/* counted as given up (once), or as a TLS socket */
	EC_CHECKED = 1u << 4,		/* destination filters applied */
	EC_DEAD = 1u << 5,		/* the placeholder of action close */
	EC_NO_SWAP = 1u << 6,		/* action close: a swap failed */
	EC_LOST = 1u << 7,		/* out of the supervisor's reach */
	EC_RESP_GAVE_UP = 1u << 8,	/* the response side gave up: the
					   request side does too, at its next
					   call (held bytes first) */
};

#define EC_AWAITING_MAX 16	/* requests awaiting responses (pipelining) */
#define EC_DEST_MAX 64

struct econn {
	atomic_uint refs;
	atomic_uint flags;
	uint64_t cookie;
	unsigned long ino;	/* the socket's inode, for /proc links */
	struct econn *next;	/* hash chain */
	uint8_t host_rule;
	char dest[EC_DEST_MAX];	/* for log lines */
	struct observe_conn obs;	/* observe mode (observe.h) */

	/* request side, under wlock */
	pthread_mutex_t wlock;
	struct http_request_stream req;
	uint8_t *held;		/* an unfinished request head */
	size_t held_len, held_cap;

	/* written by the request side, read by the response side */
	uint8_t awaiting[EC_AWAITING_MAX];	/* 1: the request was HEAD */
	atomic_uint awaiting_in, awaiting_out;
	atomic_bool req_idle;	/* no request half written */
	atomic_uint torn_for;	/* awaiting_out at the last teardown, + 1 */

	/* response side, under rlock */
	pthread_mutex_t rlock;
	struct http_response_stream resp;
	uint8_t *rheld;		/* the part of an unfinished head already
				   given to the program (left unchanged by
				   the rewrite) */
	size_t rheld_len, rheld_cap;
	uint8_t *rout;		/* rewritten head bytes owed to the program */
	size_t rout_len, rout_off;
	bool rout_ends_response;	/* tear down once rout is delivered */
};

void econn_gave_up(struct econn *c, int reason);
/* The response to the last request sent is complete and no request is
 * half written: end the connection (once, whichever side sees it). */
void econn_maybe_teardown(struct econn *c, int fd);

/* Sends the held head bytes as they are (best effort), under wlock. */
void econn_req_flush(struct econn *c, int fd);

/* Waits (bounded) until fd takes all n bytes; 0 or -errno. */
long econn_send_all(int fd, const uint8_t *p, size_t n);

#endif
