/* stats.h - counters for FORCECLOSE_STATS: relaxed atomics, bumped on
 * tracked connections only, written as one JSON line at exit and exec. */
#ifndef FORCECLOSE_STATS_H
#define FORCECLOSE_STATS_H

#include <stdatomic.h>

#include "cold.h"
#include "config.h"
#include "http_request.h"

/* Why a connection went pass-through (the first reason counts). */
enum stats_reason {
	GAVE_UP_NOT_HTTP,	/* the request stream is not HTTP/1.x */
	GAVE_UP_LEFT_ALONE,	/* CONNECT, Upgrade, NTLM/Negotiate */
	GAVE_UP_EXCLUDED_HOST,	/* a Host filter said so */
	GAVE_UP_UNSEEN_BYTES,	/* sendfile, splice, stdio, recvmmsg... */
	GAVE_UP_BAD_RESPONSE,	/* malformed or ambiguous response head */
	GAVE_UP_UNPAIRED,	/* response bytes answering no request seen */
	GAVE_UP_MOVED,		/* bytes moved, or the number reused, behind
				   the shim's back */
	GAVE_UP_NO_MEMORY,
	GAVE_UP_SEND_FAILED,	/* owed bytes could not be sent */
	GAVE_UP_REASONS
};

struct stats {
	atomic_ulong connections_tracked, connections_excluded;
	atomic_ulong requests_rewritten, close_added, close_rewritten;
	atomic_ulong requests_left_alone, responses_rewritten;
	atomic_ulong teardowns[3];	/* by enum conn_action */
	atomic_ulong given_up[GAVE_UP_REASONS];
	atomic_ulong bytes_inspected;
	/* TLS: sockets that began with a handshake (pass-through there,
	 * not a give-up), sessions tracked, teardowns (also in teardowns) */
	atomic_ulong tls_sockets, tls_tracked, tls_teardowns;
};

extern struct stats stats;

/* Only FORCECLOSE_STATS reads the counters: without it, no locked
 * instruction on every exchange. */
static inline void stats_add(atomic_ulong *counter, unsigned long n)
{
	if (unlikely(config.stats))
		atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static inline void stats_sub(atomic_ulong *counter, unsigned long n)
{
	if (unlikely(config.stats))
		atomic_fetch_sub_explicit(counter, n, memory_order_relaxed);
}

const char *stats_reason_name(enum stats_reason r);

/* Appends the JSON line to FORCECLOSE_STATS, if set; event is "exit" or
 * "exec".  Async-signal-safe, no stdio, no hooks. */
void stats_write(const char *event);

/* A forked child starts counting from zero. */
void stats_reset(void);

/* Counts a request head the rewriter has finished, the same for every way
 * in; returns the log line's format (its %s: the method), or NULL when
 * the head was not HTTP (the caller gives the stream up). */
const char *stats_count_request(const struct http_request_info *info);

#endif
