/* observe.h - FORCECLOSE_MODE=observe: the trackers follow every exchange
 * and change nothing; this table counts, per destination, what they saw,
 * and observe_report.c writes it out with a verdict.  The hooks are called
 * by the connection layer on tracked connections only (untracked
 * descriptors never get here), and return at once unless observing. */
#ifndef FORCECLOSE_OBSERVE_H
#define FORCECLOSE_OBSERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "cold.h"
#include "config.h"
#include "stats.h"

#define OBSERVE_DESTS 32	/* destinations by name; the rest: "other" */
#define OBSERVE_NAME_MAX 112	/* "[v6]:port", "unix:/path" */
#define OBSERVE_HOSTS 4		/* Host values kept per destination */
#define OBSERVE_HOST_MAX 64

/* Per connection (inside struct conn). */
struct observe_conn {
	int16_t dest;		/* table index, -1: not observed */
	uint32_t gen;		/* the table's generation (fork) */
	uint32_t requests;	/* request heads the program wrote */
	uint32_t host_hash;	/* the last Host recorded, to skip the lock */
	atomic_bool idle;	/* response complete, nothing in flight */
	bool server_ends;	/* the server said close or hung up */
	bool program_closed;	/* the program's close() ended it */
	_Atomic uint8_t tls;	/* OBSERVE_TLS_*: a TLS session on it */
	uint8_t *head;		/* a response head read so far, copied
				   (observe_read.c), then the tracker's
				   output; freed with the connection */
	size_t head_len, head_cap;
};

enum { OBSERVE_TLS_NONE, OBSERVE_TLS_UNREAD, OBSERVE_TLS_FOLLOWED };

struct observe_dest {
	char name[OBSERVE_NAME_MAX];
	char hosts[OBSERVE_HOSTS][OBSERVE_HOST_MAX];
	atomic_uint nhosts;
	atomic_bool hosts_more;
	atomic_ulong opened, requests, max_requests, reused;
	atomic_ulong open_now, open_max, idle_now, idle_max;
	atomic_ulong end_program, end_server, end_lost;
	atomic_ulong closed_after_server;	/* of end_server: the program
						   closed its descriptor too */
	atomic_ulong server_close, program_close;
	atomic_ulong not_followed, given_up[GAVE_UP_REASONS], tls;
	atomic_ulong tls_followed;	/* followed through the TLS library */
};

struct observe_table {
	struct observe_dest dest[OBSERVE_DESTS + 1];	/* last: "other" */
	atomic_uint ndests;
	atomic_ulong fd_peak;	/* highest descriptor number seen, + 1 */
	atomic_ulong open_all, open_all_max;	/* connections open, all
						   destinations: now, most */
	atomic_ulong limit_seen;	/* RLIMIT_NOFILE, last read */
	uint64_t started_ns;
};

extern struct observe_table observe_table;

/* Whose descriptors the report counts: 0, this process (the library);
 * the program's PID under the system-call engine, whose supervisor
 * follows the program from outside (engine_super.c). */
extern pid_t observe_pid;

/* The calls made on every exchange (observe_open, _request, _eof, _closed,
 * _end below) test the mode inline: a process not observing runs no line
 * of them (docs/performance.md, round 9).  Their _on halves count. */

/* connect() succeeded (or is in progress) on fd, a new tracked socket. */
void observe_open_on(struct observe_conn *o, int fd,
		     const struct sockaddr *sa, socklen_t len);
/* A request head was written (host: its Host value, may be NULL). */
void observe_request_on(struct observe_conn *o, bool said_close,
			const uint8_t *host, size_t host_len);
/* ...and taken back (a short write: it is counted when written again). */
void observe_request_undo(struct observe_conn *o);
/* A final response head was read; said_close: the server will close. */
void observe_response(struct observe_conn *o, bool said_close);
/* A response head the tracker has just finished (observe_read.c,
 * tls_observe.c): len bytes inspected, a final one counted as enforcement
 * counts it.  Returns why the response side must stop following
 * (enum stats_reason), or -1. */
struct http_response_info;
int observe_response_head(struct observe_conn *o,
			  const struct http_response_info *info, size_t len);
/* The last response is complete and no request awaits one. */
void observe_idle(struct observe_conn *o);
/* A read returned the end of the stream. */
void observe_eof_on(struct observe_conn *o);
/* The connection went pass-through (enum stats_reason), or began with a
 * TLS handshake (observe_tls). */
void observe_gave_up(struct observe_conn *o, int reason);
void observe_tls(struct observe_conn *o);
/* The TLS session on this connection is followed through the TLS library
 * (tls_observe.c): it counts as followed, whichever came first. */
void observe_tls_followed(struct observe_conn *o);
/* The program closes the descriptor.  Async-signal-safe. */
void observe_closed_on(struct observe_conn *o);
/* The connection object is released: its ending is counted.  Lock-free. */
void observe_end_on(struct observe_conn *o);

/* Reads the observed process's RLIMIT_NOFILE now, for a report written
 * once it is gone (the engine's at exit). */
void observe_note_limit(void);

/* Writes the report ("exit", "exec", "periodic") if observing and anything
 * was seen.  Raw system calls only. */
void observe_report(const char *event);

/* observe_read.c: one read of a tracked connection in observe mode, from
 * conn_read (c->rlock held): the program's call made as it is (without
 * waiting), its bytes followed.  Returns what the call returns,
 * CONN_READ_PASS, or OBSERVE_READ_WAIT when the caller must wait. */
#define OBSERVE_READ_WAIT ((ssize_t)-3)
struct conn;
struct msghdr;
ssize_t observe_read_step(struct conn *c, int fd, struct msghdr *msg,
			  int flags, bool plain);

/* A forked child starts a table of its own. */
void observe_reset(void);

/* A periodic report if FORCECLOSE_REPORT_INTERVAL has passed: called from
 * the hooks above (the library starts no thread). */
void observe_tick(void);

static inline void observe_open(struct observe_conn *o, int fd,
				const struct sockaddr *sa, socklen_t len)
{
	if (unlikely(config.observe))
		observe_open_on(o, fd, sa, len);
}
static inline void observe_request(struct observe_conn *o, bool said_close,
				   const uint8_t *host, size_t host_len)
{
	if (unlikely(config.observe))
		observe_request_on(o, said_close, host, host_len);
}
static inline void observe_eof(struct observe_conn *o)
{
	if (unlikely(config.observe))
		observe_eof_on(o);
}
static inline void observe_closed(struct observe_conn *o)
{
	if (unlikely(config.observe))
		observe_closed_on(o);
}
static inline void observe_end(struct observe_conn *o)
{
	if (unlikely(config.observe))
		observe_end_on(o);
}

#endif
