/* conn_read_int.h - what conn_read.c (the read calls, bodies, teardown)
 * and conn_read_head.c (the head phase) share.  Both run under c->rlock.
 * Not for other files. */
#ifndef FC_CONN_READ_INT_H
#define FC_CONN_READ_INT_H

#include "conn.h"

/* conn_read.c */

/* Would the program's call have waited where ours got EAGAIN? */
bool resp_must_wait(ssize_t r, int flags);

/* No request is left unanswered: a teardown now discards nothing the
 * server has been asked for (pipelining). */
bool resp_answered_all(const struct conn *c);

void resp_rout_clear(struct conn *c);

/* Gives the response side up: what was taken from the kernel reaches the
 * program first, unchanged; no teardown.  reason: enum stats_reason, or -1
 * when the stream simply ended. */
COLD void resp_stop_tracking(struct conn *c, int reason);

/* Copies n bytes of p into msg's iovecs. */
void resp_scatter(const struct msghdr *m, const uint8_t *p, size_t n);

/* conn_read_head.c */

enum fill { FILL_AGAIN, FILL_EOF, FILL_ERROR, FILL_GIVE, FILL_WAIT,
	    FILL_PEEKED };

/* The head phase: looks at the kernel's queue and takes a head from it
 * once complete, rewritten into rout.  FILL_GIVE: give_stable may answer
 * the program; FILL_PEEKED: *peeked bytes of an unfinished head went into
 * msg for a program that peeks. */
enum fill resp_fill_head(struct conn *c, int fd, struct msghdr *msg,
			 int flags, size_t want, size_t *peeked);

/* Room for n more bytes in rheld.  False when out of memory. */
bool resp_rheld_reserve(struct conn *c, size_t n);

/* A read finds an unfinished head and nothing more in the kernel: it
 * returns what the rewrite cannot change, as it would without the shim. */
ssize_t resp_give_stable(struct conn *c, struct msghdr *msg, int flags,
			 size_t want);

/* fd was closed by another thread while the shim looked at it: the n
 * bytes seen are what a read blocked there would have returned. */
void resp_take_from_closed(struct conn *c, const uint8_t *p, size_t n);

/* A response head was rewritten (or copied as is). */
void resp_count_response(struct conn *c, const struct http_response_info *info,
			 size_t head_len, bool kept);

#endif
