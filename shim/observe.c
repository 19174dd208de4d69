/* observe.c - the per-destination table of observe mode.  Counters are
 * relaxed atomics, bumped on tracked connections only; a lock is taken
 * only to add a destination (at connect) or a Host name not seen before on
 * that connection, never a system call per request.  The table is bounded:
 * OBSERVE_DESTS destinations by name, the rest folded into "other". */
#define _GNU_SOURCE
#include "observe.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "http_response.h"
#include "log.h"

struct observe_table observe_table;
pid_t observe_pid;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t table_gen = 1;

static void add(atomic_ulong *c, unsigned long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void sub(atomic_ulong *c)
{
	atomic_fetch_sub_explicit(c, 1, memory_order_relaxed);
}

/* *max = max(*max, v) */
static void raise_to(atomic_ulong *max, unsigned long v)
{
	unsigned long m = atomic_load_explicit(max, memory_order_relaxed);

	while (v > m && !atomic_compare_exchange_weak(max, &m, v))
		;
}

/* The connection's destination entry, if observed in this process. */
static struct observe_dest *dest_of(const struct observe_conn *o)
{
	if (!config.observe || o->dest < 0 ||
	    o->gen != atomic_load_explicit(&table_gen, memory_order_relaxed))
		return NULL;
	return &observe_table.dest[o->dest];
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);	/* vDSO: no syscall */
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The entry named name, added if there is room, else "other". */
static int16_t find_dest(const char *name)
{
	unsigned i, n;

	pthread_mutex_lock(&table_lock);
	if (observe_table.started_ns == 0)
		observe_table.started_ns = now_ns();
	n = atomic_load(&observe_table.ndests);
	for (i = 0; i < n; i++)
		if (strcmp(observe_table.dest[i].name, name) == 0)
			goto out;
	if (n < OBSERVE_DESTS) {
		/* the name is complete before the count shows it */
		memcpy(observe_table.dest[n].name, name, OBSERVE_NAME_MAX);
		atomic_store_explicit(&observe_table.ndests, n + 1,
				      memory_order_release);
		i = n;
	} else {
		i = OBSERVE_DESTS;
	}
out:
	pthread_mutex_unlock(&table_lock);
	return (int16_t)i;
}

/* An IPv4 address reached through an IPv6 socket (::ffff:a.b.c.d, as
 * Java connects) is the same destination as from an IPv4 socket: one
 * entry, named a.b.c.d:port. */
static void dest_name(char *name, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in6 *in6 = (const void *)sa;
	struct sockaddr_in in = { .sin_family = AF_INET };

	if (sa->sa_family == AF_INET6 && len >= sizeof *in6 &&
	    IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		in.sin_port = in6->sin6_port;
		memcpy(&in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
		sa = (const void *)&in;
		len = sizeof in;
	}
	log_format_dest(name, OBSERVE_NAME_MAX, sa, len);
}

void observe_open_on(struct observe_conn *o, int fd,
		     const struct sockaddr *sa, socklen_t len)
{
	char name[OBSERVE_NAME_MAX];
	struct observe_dest *d;
	unsigned long open;

	dest_name(name, sa, len);
	memset(name + strlen(name), 0, sizeof name - strlen(name));
	o->gen = atomic_load(&table_gen);
	o->requests = 0;
	o->host_hash = 0;
	atomic_store(&o->idle, false);
	o->server_ends = o->program_closed = false;
	atomic_store(&o->tls, OBSERVE_TLS_NONE);
	o->dest = find_dest(name);
	d = &observe_table.dest[o->dest];
	add(&d->opened, 1);
	open = atomic_fetch_add(&d->open_now, 1) + 1;
	raise_to(&d->open_max, open);
	raise_to(&observe_table.open_all_max,
		 atomic_fetch_add(&observe_table.open_all, 1) + 1);
	/* descriptors are handed out lowest first: fd + 1 were open */
	if (fd >= 0)
		raise_to(&observe_table.fd_peak, (unsigned long)fd + 1);
	observe_tick();
}

/* A Host value as the report shows it: printable ASCII, lower case. */
static size_t clean_host(const uint8_t *h, size_t n, char *out,
			 uint32_t *hash)
{
	size_t i, k = n < OBSERVE_HOST_MAX - 1 ? n : OBSERVE_HOST_MAX - 1;
	uint32_t x = 2166136261u;

	for (i = 0; i < k; i++) {
		uint8_t ch = h[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch | 0x20);
		else if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\')
			ch = '?';
		out[i] = (char)ch;
		x = (x ^ ch) * 16777619u;
	}
	out[k] = '\0';
	*hash = x | 1;	/* never 0: 0 is "none yet" */
	return k;
}

static void record_host(struct observe_conn *o, struct observe_dest *d,
			const uint8_t *host, size_t len)
{
	char clean[OBSERVE_HOST_MAX];
	uint32_t hash;
	unsigned i, n;

	clean_host(host, len, clean, &hash);
	if (hash == o->host_hash)
		return;		/* the same as this connection's last */
	o->host_hash = hash;
	pthread_mutex_lock(&table_lock);
	n = atomic_load(&d->nhosts);
	for (i = 0; i < n; i++)
		if (strcmp(d->hosts[i], clean) == 0)
			break;
	if (i == n) {
		if (n < OBSERVE_HOSTS) {
			memcpy(d->hosts[n], clean, sizeof clean);
			atomic_store_explicit(&d->nhosts, n + 1,
					      memory_order_release);
		} else {
			atomic_store(&d->hosts_more, true);
		}
	}
	pthread_mutex_unlock(&table_lock);
}

void observe_request_on(struct observe_conn *o, bool said_close,
			const uint8_t *host, size_t host_len)
{
	struct observe_dest *d = dest_of(o);

	if (d == NULL)
		return;
	if (atomic_exchange(&o->idle, false))
		sub(&d->idle_now);
	add(&d->requests, 1);
	if (++o->requests == 2)
		add(&d->reused, 1);
	raise_to(&d->max_requests, o->requests);
	if (said_close)
		add(&d->program_close, 1);
	if (host != NULL)
		record_host(o, d, host, host_len);
	observe_tick();
}

void observe_request_undo(struct observe_conn *o)
{
	struct observe_dest *d = dest_of(o);

	if (d == NULL || o->requests == 0)
		return;
	sub(&d->requests);
	if (o->requests-- == 2)
		sub(&d->reused);
}

void observe_response(struct observe_conn *o, bool said_close)
{
	struct observe_dest *d = dest_of(o);

	if (d == NULL || !said_close)
		return;
	add(&d->server_close, 1);
	o->server_ends = true;
}

int observe_response_head(struct observe_conn *o,
			  const struct http_response_info *info, size_t len)
{
	stats_add(&stats.bytes_inspected, len);
	if (info->verdict == HTTP_RESP_FINAL) {
		stats_add(&stats.responses_rewritten, 1);
		observe_response(o, info->said_close);
	}
	return info->verdict == HTTP_RESP_INVALID ? GAVE_UP_BAD_RESPONSE :
	       info->verdict == HTTP_RESP_TUNNEL ? GAVE_UP_LEFT_ALONE : -1;
}

void observe_idle(struct observe_conn *o)
{
	struct observe_dest *d = dest_of(o);

	if (d == NULL || atomic_exchange(&o->idle, true))
		return;
	raise_to(&d->idle_max, atomic_fetch_add(&d->idle_now, 1) + 1);
}

void observe_eof_on(struct observe_conn *o)
{
	if (dest_of(o) != NULL)
		o->server_ends = true;
}

void observe_gave_up(struct observe_conn *o, int reason)
{
	struct observe_dest *d = dest_of(o);

	if (d == NULL || reason < 0 || reason >= GAVE_UP_REASONS)
		return;
	add(&d->given_up[reason], 1);
	add(&d->not_followed, 1);
}

/* The socket sees the handshake and the TLS library the first request,
 * in either order (SSL_write may run the handshake itself): the state
 * makes the connection count once, as unread or as followed. */
void observe_tls(struct observe_conn *o)
{
	struct observe_dest *d = dest_of(o);
	uint8_t none = OBSERVE_TLS_NONE;

	if (d == NULL ||
	    !atomic_compare_exchange_strong(&o->tls, &none, OBSERVE_TLS_UNREAD))
		return;
	add(&d->tls, 1);
	add(&d->not_followed, 1);
}

void observe_tls_followed(struct observe_conn *o)
{
	struct observe_dest *d = dest_of(o);
	uint8_t was;

	if (d == NULL)
		return;
	was = atomic_exchange(&o->tls, OBSERVE_TLS_FOLLOWED);
	if (was == OBSERVE_TLS_FOLLOWED)
		return;
	if (was == OBSERVE_TLS_UNREAD) {
		sub(&d->tls);
		sub(&d->not_followed);
	}
	add(&d->tls_followed, 1);
}

void observe_closed_on(struct observe_conn *o)
{
	if (dest_of(o) != NULL)
		o->program_closed = true;
}

void observe_end_on(struct observe_conn *o)
{
	struct observe_dest *d = dest_of(o);

	o->dest = -1;
	if (d == NULL)
		return;
	if (atomic_exchange(&o->idle, false))
		sub(&d->idle_now);
	sub(&d->open_now);
	sub(&observe_table.open_all);
	/* the server's close counts first: the program's close then only
	 * released what the server had ended */
	add(o->server_ends ? &d->end_server :
	    o->program_closed ? &d->end_program : &d->end_lost, 1);
	if (o->server_ends && o->program_closed)
		add(&d->closed_after_server, 1);
}

void observe_reset(void)
{
	pthread_mutex_init(&table_lock, NULL);
	memset(&observe_table, 0, sizeof observe_table);
	atomic_fetch_add(&table_gen, 1);
}

void observe_tick(void)
{
	static _Atomic uint64_t due;
	uint64_t now, next, interval = settings.report_interval;

	if (interval == 0)
		return;
	now = now_ns();
	next = atomic_load_explicit(&due, memory_order_relaxed);
	if (next == 0) {
		/* the first report one interval after the first connection */
		atomic_compare_exchange_strong(&due, &next,
					       now + interval * 1000000000ull);
		return;
	}
	if (now < next ||
	    !atomic_compare_exchange_strong(&due, &next,
					    now + interval * 1000000000ull))
		return;		/* not yet, or another thread writes it */
	observe_report("periodic");
}
