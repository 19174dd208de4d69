/* observe_report.c - the observe-mode report: a table per destination, the
 * process's descriptors, and a verdict in plain words, as text or (a
 * FORCECLOSE_REPORT path ending in .json) one JSON document.  Written at
 * exit, before an exec and every FORCECLOSE_REPORT_INTERVAL seconds, with
 * raw system calls, through the same hardened opening as the log and
 * stats files (log_open_append).  It holds destinations, Host names and
 * counts only: never a request target, a query, another header or a body. */
#define _GNU_SOURCE
#include "observe.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "log.h"

/* A destination is said to leak when at least this many of its
 * connections were idle-held at once and they carry fewer than two
 * requests each on average (a pool that reuses its connections does not
 * pile them up).  The peak decides, not the count at the end: many
 * programs close everything as they exit. */
#define LEAK_IDLE_MIN 3

struct out {
	char buf[64 * 1024];	/* 33 destinations at ~1.5 KiB at most */
	size_t n;
};

static struct out report;	/* one writer at a time (busy) */

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->n >= sizeof o->buf - 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->n, sizeof o->buf - o->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->n += (size_t)k < sizeof o->buf - o->n ?
				(size_t)k : sizeof o->buf - o->n - 1;
}

static unsigned long ld(atomic_ulong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* ---- the process's descriptors ---- */

struct fds {
	unsigned long open, sockets, peak, limit;
};

static long number(const char *s)
{
	long n = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (*s - '0');
	return n;
}

/* "/proc/self/fd", or the program's under the engine (observe_pid) */
static void fd_dir(char *path)
{
	char digits[12];
	int k = 0;
	unsigned v = (unsigned)observe_pid;

	if (observe_pid == 0) {
		strcpy(path, "/proc/self/fd");
		return;
	}
	do
		digits[k++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	strcpy(path, "/proc/");
	for (path += 6; k > 0; )
		*path++ = digits[--k];
	strcpy(path, "/fd");
}

void observe_note_limit(void)
{
	struct rlimit rl;

	if (syscall(SYS_prlimit64, observe_pid, RLIMIT_NOFILE, NULL, &rl) == 0)
		atomic_store(&observe_table.limit_seen,
			     (unsigned long)rl.rlim_cur);
}

static void count_fds(struct fds *f)
{
	char buf[4096], link[16], path[32];
	long dir, n, i;

	fd_dir(path);
	dir = syscall(SYS_openat, AT_FDCWD, path,
		      O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	f->open = f->sockets = 0;
	if (dir >= 0) {
		while ((n = syscall(SYS_getdents64, (int)dir, buf,
				    sizeof buf)) > 0)
			for (i = 0; i < n;) {
				struct dirent64 *e = (void *)(buf + i);
				i += e->d_reclen;
				if (e->d_name[0] == '.')
					continue;
				if (observe_pid == 0 &&
				    number(e->d_name) == dir)
					continue;	/* our own */
				f->open++;
				if (syscall(SYS_readlinkat, (int)dir, e->d_name,
					    link, sizeof link) >= 7 &&
				    memcmp(link, "socket:", 7) == 0)
					f->sockets++;
			}
		syscall(SYS_close, (int)dir);
	}
	/* a lower bound: the highest number seen, the connections open at
	 * once (under the engine, whose sockets are numbered from high up,
	 * only these), the descriptors open now */
	f->peak = ld(&observe_table.fd_peak);
	if (ld(&observe_table.open_all_max) > f->peak)
		f->peak = ld(&observe_table.open_all_max);
	if (f->open > f->peak)
		f->peak = f->open;
	observe_note_limit();	/* kept if the process is gone */
	f->limit = ld(&observe_table.limit_seen);
}

/* ---- verdicts ---- */

static const char *const reason_words[GAVE_UP_REASONS] = {
	"the stream is not HTTP/1.x",
	"tunnels or connection-bound authentication (left alone by design)",
	"excluded by a Host filter",
	"bytes moved where the library cannot see them (sendfile, splice, "
	"stdio, recvmmsg, MSG_WAITALL)",
	"malformed or ambiguous responses",
	"responses to requests the library never saw (written with a raw "
	"system call?)",
	"the descriptor was reused or read behind the library's back",
	"out of memory",
	"bytes owed to the server could not be sent",
};

struct verdict {
	const char *kind;	/* "leak", "no_leak", "not_followed" */
	char leak[512];		/* the leak / no-leak sentence */
	char followed[512];	/* the could-not-follow sentence, or "" */
};

/* "1 request each" or "2.5 requests each on average" */
static void per_conn(char *b, size_t cap, unsigned long req,
		     unsigned long conns, unsigned long max)
{
	unsigned long tenths = conns ? (req * 10 + conns / 2) / conns : 0;

	if (max <= 1 && req == conns)
		snprintf(b, cap, "1 request each");
	else
		snprintf(b, cap, "%lu.%lu requests each on average",
			 tenths / 10, tenths % 10);
}

static void judge(struct observe_dest *d, struct verdict *v)
{
	unsigned long conns = ld(&d->opened), req = ld(&d->requests);
	unsigned long open = ld(&d->open_now), idle = ld(&d->idle_now);
	unsigned long idle_max = ld(&d->idle_max);
	unsigned long nf = ld(&d->not_followed), ended;
	char each[64];
	size_t k;
	int i;

	v->followed[0] = '\0';
	ended = ld(&d->end_program) + ld(&d->end_server);
	per_conn(each, sizeof each, req, conns, ld(&d->max_requests));
	if (nf > 0) {
		k = (size_t)snprintf(v->followed, sizeof v->followed,
				     "%s: could not follow %lu of %lu "
				     "connection%s (",
				     d->name, nf, conns, conns == 1 ? "" : "s");
		if (ld(&d->tls) > 0 && k < sizeof v->followed)
			k += (size_t)snprintf(v->followed + k,
					      sizeof v->followed - k,
					      "%lu TLS the library cannot "
					      "read: not through OpenSSL 3 or "
					      "GnuTLS, or not HTTP/1.x "
					      "inside; ",
					      ld(&d->tls));
		for (i = 0; i < GAVE_UP_REASONS; i++)
			if (ld(&d->given_up[i]) > 0 && k < sizeof v->followed)
				k += (size_t)snprintf(
					v->followed + k, sizeof v->followed - k,
					"%lu %s; ", ld(&d->given_up[i]),
					reason_words[i]);
		if (k < sizeof v->followed)
			snprintf(v->followed + k - 2, sizeof v->followed - k + 2,
				 "); the figures cover only what was seen, "
				 "so whether those leak is not known");
	}
	if (idle_max >= LEAK_IDLE_MIN && req < 2 * conns) {
		const char *cause, *cure;

		v->kind = "leak";
		if (ld(&d->server_close) > 0) {
			cause = "the server says close but the program keeps "
				"the connections open";
			cure = "try FORCECLOSE_ACTION=close (this program "
			       "does not close even when the server says so)";
		} else {
			cause = ld(&d->program_close) > 0 ?
					"the program asks for close but the "
					"server never closes, and the program "
					"keeps them open" :
					"the server never says close and the "
					"program keeps them open";
			cure = ld(&d->closed_after_server) > 0 ?
				       "try FORCECLOSE_ACTION=shutdown (the "
				       "default): this program closes "
				       "connections the server ends" :
				       "try FORCECLOSE_ACTION=shutdown (the "
				       "default); if descriptors still grow, "
				       "close";
		}
		snprintf(v->leak, sizeof v->leak,
			 "%s: %lu connections, %s, up to %lu idle-held at "
			 "once, %lu still open; %s -> %s",
			 d->name, conns, each, idle_max, open, cause, cure);
		return;
	}
	v->kind = nf > 0 && nf * 2 >= conns ? "not_followed" : "no_leak";
	if (nf >= conns)
		v->leak[0] = '\0';	/* nothing was followed: no claim */
	else if (ld(&d->reused) > 0)
		snprintf(v->leak, sizeof v->leak,
			 "%s: no leak: connections reused (up to %lu requests "
			 "on one), %lu open now",
			 d->name, ld(&d->max_requests), open);
	else if (ended + ld(&d->end_lost) >= conns - open)
		snprintf(v->leak, sizeof v->leak,
			 "%s: no leak seen: %lu connection%s, %s; %lu closed "
			 "by the program, %lu by the server, %lu open now "
			 "(%lu idle-held)",
			 d->name, conns, conns == 1 ? "" : "s", each,
			 ld(&d->end_program),
			 ld(&d->end_server), open, idle);
	else
		snprintf(v->leak, sizeof v->leak,
			 "%s: no leak seen: %lu connection%s, %s, %lu open now",
			 d->name, conns, conns == 1 ? "" : "s", each, open);
}

/* ---- text ---- */

static void yes_no(struct out *o, const char *what, unsigned long n,
		   const char *unit)
{
	if (n == 0)
		put(o, "%s: never", what);
	else
		put(o, "%s: yes (%lu %s%s)", what, n, unit, n == 1 ? "" : "s");
}

static void text_dest(struct out *o, struct observe_dest *d)
{
	unsigned long conns = ld(&d->opened), req = ld(&d->requests);
	unsigned long tenths = conns ? (req * 10 + conns / 2) / conns : 0;
	unsigned i, nh = atomic_load_explicit(&d->nhosts,
					       memory_order_acquire);

	put(o, "  %s", d->name);
	for (i = 0; i < nh; i++)
		put(o, "%s%s", i == 0 ? "  Host: " : ", ", d->hosts[i]);
	if (atomic_load(&d->hosts_more))
		put(o, ", ...");
	put(o, "\n    connections %lu (", conns);
	if (ld(&d->tls_followed) > 0)
		put(o, "%lu followed inside TLS; ", ld(&d->tls_followed));
	put(o, "open now %lu, at most %lu at once; idle-held now %lu, at "
	    "most %lu)\n",
	    ld(&d->open_now), ld(&d->open_max), ld(&d->idle_now),
	    ld(&d->idle_max));
	put(o, "    requests %lu (per connection: max %lu, mean %lu.%lu)\n",
	    req, ld(&d->max_requests), tenths / 10, tenths % 10);
	put(o, "    ended: program closed %lu, server closed %lu (then the "
	    "program %lu), still open %lu, lost sight %lu\n",
	    ld(&d->end_program), ld(&d->end_server),
	    ld(&d->closed_after_server), ld(&d->open_now), ld(&d->end_lost));
	put(o, "    ");
	yes_no(o, "server said close", ld(&d->server_close), "response");
	put(o, "; ");
	yes_no(o, "program reused a connection", ld(&d->reused),
	       "connection");
	put(o, "; ");
	yes_no(o, "program asked for close", ld(&d->program_close),
	       "request");
	put(o, "\n    could not follow: %lu connection%s\n",
	    ld(&d->not_followed), ld(&d->not_followed) == 1 ? "" : "s");
}

/* ---- JSON ---- */

static void json_str(struct out *o, const char *s)
{
	put(o, "\"");
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			put(o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			put(o, "?");
		else
			put(o, "%c", ch);
	}
	put(o, "\"");
}

static void json_dest(struct out *o, struct observe_dest *d,
		      const struct verdict *v)
{
	unsigned long conns = ld(&d->opened), req = ld(&d->requests);
	unsigned long tenths = conns ? (req * 10 + conns / 2) / conns : 0;
	unsigned i, nh = atomic_load_explicit(&d->nhosts,
					       memory_order_acquire);

	put(o, "{\"destination\":");
	json_str(o, d->name);
	put(o, ",\"hosts\":[");
	for (i = 0; i < nh; i++) {
		put(o, i ? "," : "");
		json_str(o, d->hosts[i]);
	}
	put(o, "],\"hosts_more\":%s", atomic_load(&d->hosts_more) ?
						"true" : "false");
	put(o, ",\"connections\":%lu,\"requests\":%lu,"
	    "\"requests_per_connection_max\":%lu,"
	    "\"requests_per_connection_mean\":%lu.%lu,"
	    "\"open_now\":%lu,\"open_max\":%lu,\"idle_now\":%lu,"
	    "\"idle_max\":%lu",
	    conns, req, ld(&d->max_requests), tenths / 10, tenths % 10,
	    ld(&d->open_now), ld(&d->open_max), ld(&d->idle_now),
	    ld(&d->idle_max));
	put(o, ",\"ended\":{\"program_closed\":%lu,\"server_closed\":%lu,"
	    "\"program_closed_after_server\":%lu,"
	    "\"still_open\":%lu,\"lost_sight\":%lu}",
	    ld(&d->end_program), ld(&d->end_server),
	    ld(&d->closed_after_server), ld(&d->open_now), ld(&d->end_lost));
	put(o, ",\"server_said_close\":%lu,\"program_reused\":%lu,"
	    "\"program_said_close\":%lu",
	    ld(&d->server_close), ld(&d->reused), ld(&d->program_close));
	put(o, ",\"tls_followed\":%lu", ld(&d->tls_followed));
	put(o, ",\"not_followed\":{\"total\":%lu,\"tls\":%lu",
	    ld(&d->not_followed), ld(&d->tls));
	for (i = 0; i < GAVE_UP_REASONS; i++)
		put(o, ",\"%s\":%lu", stats_reason_name(i),
		    ld(&d->given_up[i]));
	put(o, "},\"verdict\":\"%s\",\"verdicts\":[", v->kind);
	if (v->leak[0] != '\0')
		json_str(o, v->leak);
	if (v->followed[0] != '\0') {
		put(o, v->leak[0] != '\0' ? "," : "");
		json_str(o, v->followed);
	}
	put(o, "]}");
}

/* ---- the whole report ---- */

static unsigned dest_count(void)
{
	unsigned n = atomic_load_explicit(&observe_table.ndests,
					  memory_order_acquire);

	/* "other" is shown once something was folded into it */
	return ld(&observe_table.dest[OBSERVE_DESTS].opened) > 0 ?
		       OBSERVE_DESTS + 1 : n;
}

static void build(struct out *o, const char *event, bool json)
{
	struct timespec t;
	unsigned long ms = 0;
	struct verdict v;
	struct fds f;
	unsigned i, n = dest_count();
	pid_t pid = observe_pid ? observe_pid : (pid_t)syscall(SYS_getpid);

	strcpy(observe_table.dest[OBSERVE_DESTS].name, "other");
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	if (observe_table.started_ns > 0)
		ms = (unsigned long)(((uint64_t)t.tv_sec * 1000000000ull +
				      (uint64_t)t.tv_nsec -
				      observe_table.started_ns) / 1000000);
	count_fds(&f);
	o->n = 0;
	if (json) {
		put(o, "{\"pid\":%d,\"program\":", (int)pid);
		json_str(o, program_invocation_short_name);
		put(o, ",\"event\":\"%s\",\"seconds\":%lu.%03lu,"
		    "\"process\":{\"descriptors_open\":%lu,"
		    "\"sockets_open\":%lu,\"descriptors_peak\":%lu,"
		    "\"descriptor_limit\":%lu},\"destinations\":[",
		    event, ms / 1000, ms % 1000, f.open, f.sockets, f.peak,
		    f.limit);
		for (i = 0; i < n; i++) {
			judge(&observe_table.dest[i], &v);
			put(o, i ? "," : "");
			json_dest(o, &observe_table.dest[i], &v);
		}
		put(o, "]}\n");
		return;
	}
	put(o, "libforceclose: observe report for ");
	for (const char *p = program_invocation_short_name; *p; p++)
		put(o, "%c", *p > 0x20 && *p < 0x7f ? *p : '?');
	put(o, "[%d], %s, %lu.%lu s after the first connection\n", (int)pid,
	    strcmp(event, "exit") == 0 ? "at exit" :
	    strcmp(event, "exec") == 0 ? "before exec" : "periodic",
	    ms / 1000, ms % 1000 / 100);
	for (i = 0; i < n; i++)
		text_dest(o, &observe_table.dest[i]);
	put(o, "  process: %lu descriptors open (%lu sockets), peak at least "
	    "%lu, limit %lu (RLIMIT_NOFILE)\n",
	    f.open, f.sockets, f.peak, f.limit);
	for (i = 0; i < n; i++) {
		judge(&observe_table.dest[i], &v);
		if (v.leak[0] != '\0')
			put(o, "  verdict: %s\n", v.leak);
		if (v.followed[0] != '\0')
			put(o, "  verdict: %s\n", v.followed);
	}
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);

	return n >= k && strcmp(s + n - k, tail) == 0;
}

/* Line by line to syslog (each line one message). */
static void to_syslog(const struct out *o)
{
	const char *p = o->buf, *end = o->buf + o->n, *nl;
	char line[512];

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size_t k = (size_t)(nl - p) < sizeof line - 1 ?
				   (size_t)(nl - p) : sizeof line - 1;
		memcpy(line, p, k);
		line[k] = '\0';
		for (size_t i = 0; i < k; i++)
			if (line[i] == '%')
				line[i] = '?';	/* not a format here */
		log_event_line(LOG_ERRORS, NULL, line, NULL, 0);
		p = nl + 1;
	}
}

void observe_report(const char *event)
{
	static atomic_bool busy, refused_report, refused_log;
	bool json;
	int saved = errno, fd;

	if (!config.observe || config.disabled ||
	    atomic_load(&observe_table.ndests) == 0 ||
	    atomic_exchange(&busy, true))
		return;
	json = settings.report_path[0] != '\0' &&
	       ends_with(settings.report_path, ".json");
	build(&report, event, json);
	if (settings.report_path[0] != '\0') {
		fd = log_open_append(settings.report_path, "FORCECLOSE_REPORT",
				     &refused_report);
		if (fd >= 0) {
			/* a JSON file holds one document: the latest */
			if (json)
				syscall(SYS_ftruncate, fd, 0);
			syscall(SYS_write, fd, report.buf, report.n);
			syscall(SYS_close, fd);
		}
	} else if (config.log == LOG_TO_FILE) {
		fd = log_open_append(settings.log_path, "FORCECLOSE_LOG",
				     &refused_log);
		if (fd >= 0) {
			syscall(SYS_write, fd, report.buf, report.n);
			syscall(SYS_close, fd);
		}
	} else if (config.log == LOG_TO_SYSLOG) {
		to_syslog(&report);
	} else {
		log_stderr_write(report.buf, report.n);
	}
	atomic_store(&busy, false);
	errno = saved;
}
