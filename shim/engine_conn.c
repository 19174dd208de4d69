/* engine_conn.c - the state of one socket the engine placed, and its
 * table.  The HTTP work itself is in engine_req.c and engine_resp.c. */
#define _GNU_SOURCE
#include "engine_conn.h"
#include "engine_conn_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "log.h"
#include "stats.h"

#define BUCKETS 4096

static struct econn *table[BUCKETS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned bucket(uint64_t cookie)
{
	return (unsigned)((cookie * 0x9e3779b97f4a7c15ull) >> 52) % BUCKETS;
}

struct econn *econn_new(uint64_t cookie)
{
	struct econn *c = calloc(1, sizeof *c);
	unsigned b = bucket(cookie);

	if (c == NULL)
		return NULL;
	c->cookie = cookie;
	atomic_store(&c->refs, 2);	/* the table's and the caller's */
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_init(&c->rlock, NULL);
	http_request_init(&c->req);
	http_response_init(&c->resp);
	c->req.observe = c->resp.observe = config.observe;
	c->obs.dest = -1;	/* observed from its first write on */
	if (config.disabled)
		atomic_store(&c->flags, EC_REQ_OPAQUE | EC_RESP_OPAQUE);
	pthread_mutex_lock(&table_lock);
	c->next = table[b];
	table[b] = c;
	pthread_mutex_unlock(&table_lock);
	return c;
}

struct econn *econn_new_dead(uint64_t cookie)
{
	struct econn *c = econn_new(cookie);

	if (c != NULL)
		atomic_store(&c->flags, EC_DEAD | EC_TORN_DOWN | EC_CHECKED |
					EC_REQ_OPAQUE | EC_RESP_OPAQUE);
	return c;
}

bool econn_wants_swap(const struct econn *c)
{
	unsigned f = atomic_load(&c->flags);

	return config.action == ACTION_CLOSE && (f & EC_TORN_DOWN) &&
	       !(f & (EC_DEAD | EC_NO_SWAP));
}

void econn_swap_failed(struct econn *c)
{
	atomic_fetch_or(&c->flags, EC_NO_SWAP);	/* stays shut down */
}

void econn_swapped(const struct econn *c)
{
	log_event(LOG_TEARDOWNS, c->dest,
		  "socket closed, a closed placeholder holds its descriptor",
		  NULL, 0);
}

struct econn *econn_find(uint64_t cookie)
{
	struct econn *c;

	pthread_mutex_lock(&table_lock);
	for (c = table[bucket(cookie)]; c != NULL; c = c->next)
		if (c->cookie == cookie) {
			atomic_fetch_add(&c->refs, 1);
			break;
		}
	pthread_mutex_unlock(&table_lock);
	return c;
}

void econn_set_ino(struct econn *c, unsigned long ino)
{
	c->ino = ino;
}

struct econn *econn_find_ino(unsigned long ino)
{
	struct econn *c = NULL;
	unsigned b;

	pthread_mutex_lock(&table_lock);
	for (b = 0; b < BUCKETS && c == NULL; b++)
		for (c = table[b]; c != NULL; c = c->next)
			if (c->ino == ino && ino != 0) {
				atomic_fetch_add(&c->refs, 1);
				break;
			}
	pthread_mutex_unlock(&table_lock);
	return c;
}

void econn_put(struct econn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	observe_end(&c->obs);
	free(c->held);
	free(c->rheld);
	free(c->rout);
	pthread_mutex_destroy(&c->wlock);
	pthread_mutex_destroy(&c->rlock);
	free(c);
}

/* Out of the table; the table's reference is dropped.  True if it was
 * there (only one caller removes it). */
static bool unlink_conn(struct econn *c)
{
	struct econn **p;
	bool found = false;

	pthread_mutex_lock(&table_lock);
	for (p = &table[bucket(c->cookie)]; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			found = true;
			break;
		}
	pthread_mutex_unlock(&table_lock);
	if (found)
		econn_put(c);
	return found;
}

bool econn_opaque(const struct econn *c)
{
	unsigned f = atomic_load_explicit(&c->flags, memory_order_relaxed);

	return (f & (EC_REQ_OPAQUE | EC_RESP_OPAQUE)) ==
	       (EC_REQ_OPAQUE | EC_RESP_OPAQUE) && !(f & EC_TORN_DOWN);
}

bool econn_torn_down(const struct econn *c)
{
	return atomic_load(&c->flags) & EC_TORN_DOWN;
}

void econn_gave_up(struct econn *c, int reason)
{
	if (atomic_fetch_or(&c->flags, EC_GAVE_UP) & EC_GAVE_UP)
		return;
	stats_add(&stats.given_up[reason], 1);
	if (atomic_load(&c->obs.tls) == OBSERVE_TLS_NONE)
		observe_gave_up(&c->obs, reason);	/* TLS: counted so */
	log_event(reason == GAVE_UP_NO_MEMORY ? LOG_ERRORS : LOG_DEBUG,
		  c->dest, "pass-through from now on (%s)",
		  stats_reason_name(reason), strlen(stats_reason_name(reason)));
}

void econn_give_up_unseen(struct econn *c, int fd)
{
	if (atomic_load(&c->flags) & EC_DEAD)
		return;	/* nothing to see there */
	pthread_mutex_lock(&c->wlock);
	econn_req_flush(c, fd);
	http_request_give_up(&c->req);
	atomic_fetch_or(&c->flags, EC_REQ_OPAQUE);
	pthread_mutex_unlock(&c->wlock);
	pthread_mutex_lock(&c->rlock);
	/* a head partly delivered stays as the program has it */
	http_response_give_up(&c->resp);
	if (c->rout == NULL)
		atomic_fetch_or(&c->flags, EC_RESP_OPAQUE);
	pthread_mutex_unlock(&c->rlock);
	econn_gave_up(c, GAVE_UP_UNSEEN_BYTES);
}

void econn_lost(struct econn *c)
{
	if (atomic_load(&c->flags) & EC_DEAD)
		return;
	/* counted as a give-up; the one line is engine_out_of_room's */
	if (!(atomic_fetch_or(&c->flags, EC_LOST | EC_GAVE_UP) & EC_GAVE_UP))
		stats_add(&stats.given_up[GAVE_UP_NO_MEMORY], 1);
}

bool econn_is_lost(const struct econn *c)
{
	return atomic_load(&c->flags) & EC_LOST;
}

void econn_drop(struct econn *c)
{
	if (!(atomic_load(&c->flags) & EC_DEAD))
		unlink_conn(c);
}

void econn_closed(struct econn *c, int fd)
{
	if (atomic_load(&c->flags) & EC_DEAD)
		return;	/* one of its numbers: the placeholder stays */
	observe_closed(&c->obs);
	pthread_mutex_lock(&c->wlock);
	econn_req_flush(c, fd);
	pthread_mutex_unlock(&c->wlock);
	unlink_conn(c);
}

/* The response is complete and no other request is out: end the
 * connection as FORCECLOSE_ACTION says.  Never once either side has given
 * up: the request side no longer counts what it sends (a request left
 * alone, or one after it), so none is known to be the last.  "close"
 * shuts down here too: the engine can only replace a descriptor of the
 * program during a call of the program, so the socket is swapped for the
 * placeholder at the program's next trapped call on it (engine_io.c). */
void econn_maybe_teardown(struct econn *c, int fd)
{
	static const char *const done[] = {
		"response complete, connection shut down",
		"response complete, connection shut down, descriptor to close",
		"response complete, connection left open (action none)",
	};

	unsigned out = atomic_load(&c->awaiting_out);

	if (out != atomic_load(&c->awaiting_in) || !atomic_load(&c->req_idle) ||
	    atomic_load(&c->flags) & EC_GAVE_UP ||
	    atomic_exchange(&c->torn_for, out + 1) == out + 1)
		return;
	stats_add(&stats.teardowns[config.action], 1);
	log_event(LOG_TEARDOWNS, c->dest, done[config.action], NULL, 0);
	if (config.action == ACTION_NONE)
		return;
	atomic_fetch_or(&c->flags, EC_TORN_DOWN);
	shutdown(fd, SHUT_RDWR);
}
