/* stress.c - thread-sanitizer stress test of libforceclose: main and the
 * scenarios on well-behaved connections (a: many threads, own
 * connections; b: one reader and one writer sharing a socket; f: like a,
 * never closing, for FORCECLOSE_ACTION=close).  chaos.c has the others.  Built with -fsanitize=thread and run with a TSan build
 * of the library preloaded (tests/stress/run.sh).
 *
 * usage: stress PORT EXPECTFILE SCENARIOS [SCALE% [SEED]]
 * (STRESS_WATCHDOG: seconds a scenario may take, default 120)
 * Each scenario prints "scenario X: ..." with its counts; any mismatch
 * prints FAIL lines and the exit status is 1.  EXPECTFILE gets one line
 * "PORT N[-M] FIRST-TAG" per connection whose request count is known (N,
 * or from N to M), for the runner to compare with what the server saw. */
#define _GNU_SOURCE
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

/* ---- a: 8 threads, each request on its own connection ---- */

#define A_THREADS 8
static atomic_uint a_requests, a_verified;

static void *a_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, j, n = scaled(200);
	struct reader *rd = malloc(sizeof *rd);
	struct request q;
	struct rng r;
	char tag[TAG_MAX];

	rng_seed(&r, S.seed, 100 + id);
	for (j = 0; j < n && rd != NULL; j++) {
		snprintf(tag, sizeof tag, "a.%u.%u", id, j);
		request_random(&q, &r, tag, 1);
		atomic_fetch_add(&a_requests, 1);
		if (one_request('a', &q, &r, rd) == 0)
			atomic_fetch_add(&a_verified, 1);
	}
	free(rd);
	return NULL;
}

void scenario_a(void)
{
	pthread_t t[A_THREADS];
	uintptr_t i;

	for (i = 0; i < A_THREADS; i++)
		pthread_create(&t[i], NULL, a_worker, (void *)i);
	for (i = 0; i < A_THREADS; i++)
		pthread_join(t[i], NULL);
	printf("scenario a: threads %d requests %u verified %u\n", A_THREADS,
	       a_requests, a_verified);
}

/* ---- f: like a, but the program never closes its sockets ----
 * For FORCECLOSE_ACTION=close, which exists for such programs: the shim
 * closes each torn-down descriptor after 8 later teardowns.  Every body
 * must still verify, the read after it must return 0, and at the end at
 * most CONN_CLOSE_WINDOW (8) of the sockets are still open. */

static atomic_uint f_requests, f_verified;

static void *f_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, j, n = scaled(100);
	struct reader *rd = malloc(sizeof *rd);
	struct request q;
	struct rng r;
	char tag[TAG_MAX];

	rng_seed(&r, S.seed, 1000 + id);
	for (j = 0; j < n && rd != NULL; j++) {
		snprintf(tag, sizeof tag, "f.%u.%u", id, j);
		request_random(&q, &r, tag, 1);
		atomic_fetch_add(&f_requests, 1);
		if (one_request_kept('f', &q, &r, rd) == 0)
			atomic_fetch_add(&f_verified, 1);
	}
	free(rd);
	return NULL;
}

static unsigned open_sockets(void)
{
	char path[64], link[64];
	unsigned fd, n = 0;

	for (fd = 0; fd < 4096; fd++) {
		ssize_t k;
		snprintf(path, sizeof path, "/proc/self/fd/%u", fd);
		k = readlink(path, link, sizeof link - 1);
		if (k > 0 && strncmp(link, "socket:", 7) == 0 && (int)fd != S.expect_fd)
			n++;
	}
	return n;
}

void scenario_f(void)
{
	pthread_t t[A_THREADS];
	unsigned before = open_sockets(), after;
	uintptr_t i;

	for (i = 0; i < A_THREADS; i++)
		pthread_create(&t[i], NULL, f_worker, (void *)i);
	for (i = 0; i < A_THREADS; i++)
		pthread_join(t[i], NULL);
	after = open_sockets();
	/* CONN_CLOSE_QUEUE (shim/conn.h): what a never-closing program may
	 * hold under FORCECLOSE_ACTION=close */
	if (after > before + 64)
		fail('f', "%u sockets left open (%u before)", after, before);
	printf("scenario f: threads %d requests %u verified %u sockets left "
	       "open %u\n", A_THREADS, f_requests, f_verified, after - before);
}

/* ---- b: a writer pipelines requests, a reader reads the responses ---- */

#define B_MAX 40	/* requests per connection */
#define B_WINDOW 12	/* in flight at most: below the shim's 16, so every
			   response is paired and rewritten */

struct round {
	int fd;
	unsigned n, id;
	struct request q[B_MAX];
	sem_t window, ready;
	atomic_uint queued, written, done;
	atomic_int passed;	/* the last answer did not say close */
	unsigned verified;
	struct rng wr, rr;
	struct reader rd;
};

static atomic_uint b_written, b_verified, b_epipe, b_passed;

static int wait_sem(sem_t *s)
{
	struct timespec until;
	int r;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	while ((r = sem_timedwait(s, &until)) < 0 && errno == EINTR)
		;
	return r;
}

/* set around a write that starts after the reader has seen the end of
 * the connection: a SIGPIPE there breaks the shim's promise */
static _Thread_local volatile int late_write;
static atomic_uint sigpipes, sigpipes_late;

static void on_sigpipe(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigpipes, 1);
	if (late_write)
		atomic_fetch_add(&sigpipes_late, 1);
}

/* One request; 0 when written, else -errno. */
static int b_write(struct round *b, unsigned k, char *buf, int late)
{
	char tag[TAG_MAX];
	size_t len;
	int e;

	snprintf(tag, sizeof tag, "b.%u.%u", b->id, k);
	request_random(&b->q[k], &b->wr, tag, 1);
	len = request_format(&b->q[k], buf);
	/* the reader may go and block in read() meanwhile */
	atomic_store(&b->queued, k + 1);
	sem_post(&b->ready);
	late_write = late;
	e = send_request(b->fd, buf, len, &b->wr, rng_below(&b->wr, 4) == 0);
	late_write = 0;
	return e;
}

static void *b_writer(void *arg)
{
	struct round *b = arg;
	char *buf = malloc(FILL_MAX + 256);
	unsigned k;
	int e, broken = buf == NULL;

	for (k = 0; k < b->n && !broken; k++) {
		if (wait_sem(&b->window) < 0) {
			fail('b', "round %u: window never opened", b->id);
			broken = 1;
			break;
		}
		e = b_write(b, k, buf, 0);
		if (e == 0) {
			atomic_store(&b->written, k + 1);
			continue;
		}
		/* a write racing the teardown: the kernel's answer to it */
		if (S.teardown && k > 0 && (e == -EPIPE || e == -ECONNRESET))
			break;
		fail('b', "round %u: write %u: %s", b->id, k, strerror(-e));
		shutdown(b->fd, SHUT_RDWR);	/* unblocks the reader */
		broken = 1;
	}
	/* Once the reader has seen the end, a write must fail with EPIPE
	 * (never SIGPIPE): one more, whatever happened above. */
	while (S.teardown && !broken && !atomic_load(&b->done))
		if (wait_sem(&b->window) < 0) {
			fail('b', "round %u: the reader never finished", b->id);
			broken = 1;
		}
	if (S.teardown && !broken && !atomic_load(&b->passed)) {
		e = b_write(b, k, buf, 1);
		if (e != -EPIPE)
			fail('b', "round %u: write after teardown: %s", b->id,
			     e == 0 ? "succeeded" : strerror(-e));
		else
			atomic_fetch_add(&b_epipe, 1);
	}
	sem_post(&b->ready);	/* no more: queued stays below the reader's k */
	free(buf);
	return NULL;
}

static void *b_reader(void *arg)
{
	struct round *b = arg;
	unsigned k;
	int said_close;
	char why[200];

	reader_init(&b->rd, b->fd, &b->rr);
	if (b->rd.max < 64)
		b->rd.max = 100;
	for (k = 0; k < b->n; k++) {
		if (wait_sem(&b->ready) < 0) {
			fail('b', "round %u: no request %u", b->id, k);
			break;
		}
		if (atomic_load(&b->queued) <= k)
			break;	/* the writer has stopped */
		/* Pipelining: a response says close (and, with a teardown,
		 * ends the connection) when it answers the last request
		 * written so far; one that answers an earlier request reaches
		 * the program as the server sent it, so that no request the
		 * server has received goes unanswered.  The answer to the
		 * writer's last request always says close. */
		said_close = read_response(&b->rd, &b->q[k], 0, why,
					   sizeof why);
		if (said_close < 0) {
			fail('b', "round %u: response %u (read style %d size %zu): %s",
			     b->id, k, b->rd.style, b->rd.max, why);
			break;
		}
		b->verified++;
		if (k + 1 == b->n && !said_close) {
			/* The one exception: a request written while the
			 * reader's single read took the answer before it and
			 * the start of its own; the shim then gives the
			 * connection up (pass-through, every byte delivered,
			 * no teardown) rather than guess.  Counted. */
			atomic_store(&b->passed, 1);
			atomic_fetch_add(&b_passed, 1);
			break;
		}
		if (S.teardown && said_close) {
			if (expect_eof(&b->rd, why, sizeof why) == 0)
				break;
			/* a request the writer sent after this head was read
			 * reached the server: its answer comes too, never
			 * discarded by a teardown */
			if (b->rd.pos < b->rd.len &&
			    atomic_load(&b->queued) > k + 1) {
				sem_post(&b->window);
				continue;
			}
			fail('b', "round %u: %s", b->id, why);
			break;
		}
		sem_post(&b->window);
	}
	atomic_store(&b->done, 1);
	sem_post(&b->window);
	return NULL;
}

void scenario_b(void)
{
	unsigned i, rounds = scaled(S.teardown ? 60 : 15), responses = 0;
	struct round *b = malloc(sizeof *b);

	for (i = 0; i < rounds && b != NULL; i++) {
		pthread_t w, r;
		int port;

		memset(b, 0, sizeof *b);
		b->id = i;
		b->n = S.teardown ? 6 : B_MAX;
		rng_seed(&b->wr, S.seed, 200 + i);
		rng_seed(&b->rr, S.seed, 300 + i);
		sem_init(&b->window, 0, B_WINDOW);
		sem_init(&b->ready, 0, 0);
		b->fd = connect_server();
		if (b->fd < 0) {
			fail('b', "connect: %s", strerror(errno));
			break;
		}
		port = local_port(b->fd);
		pthread_create(&r, NULL, b_reader, b);
		pthread_create(&w, NULL, b_writer, b);
		pthread_join(w, NULL);
		pthread_join(r, NULL);
		close(b->fd);
		/* With a teardown, every request the server received is
		 * answered before it (pipelining): the server sees at least
		 * the requests whose responses were read. */
		expect_requests_passed(port, S.teardown ? b->verified :
						    b->written,
				       b->written, b->q[0].tag, 'b',
				       atomic_load(&b->passed));
		atomic_fetch_add(&b_written, b->written);
		atomic_fetch_add(&b_verified, b->verified);
		responses += b->verified;
		if (!S.teardown && b->verified != b->n)
			fail('b', "round %u: %u of %u responses", i, b->verified, b->n);
		sem_destroy(&b->window);
		sem_destroy(&b->ready);
	}
	free(b);
	printf("scenario b: connections %u requests %u responses %u verified %u "
	       "late-writes-EPIPE %u passed-through %u\n", rounds, b_written,
	       responses, b_verified, b_epipe, b_passed);
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	const char *action = getenv("FORCECLOSE_ACTION");
	struct sigaction sa = { .sa_handler = on_sigpipe };
	const char *s, *w = getenv("STRESS_WATCHDOG");
	unsigned watchdog = w != NULL && atoi(w) > 0 ? (unsigned)atoi(w) : 120;

	if (argc < 4) {
		fprintf(stderr, "usage: %s PORT EXPECTFILE SCENARIOS [SCALE%% [SEED]]\n",
			argv[0]);
		return 2;
	}
	/* the library is loaded; TSan's symbolizer, which it starts as a
	 * child, must not load it too (it is not a TSan program) */
	unsetenv("LD_PRELOAD");
	S.port = atoi(argv[1]);
	S.expect_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
	S.teardown = action == NULL || strcmp(action, "none") != 0;
	S.scale = argc > 4 ? (unsigned)atoi(argv[4]) : 100;
	S.seed = argc > 5 ? strtoull(argv[5], NULL, 0) :
			    (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
	if (S.expect_fd < 0) {
		perror(argv[2]);
		return 2;
	}
	/* counted, not ignored: the shim promises EPIPE, never SIGPIPE,
	 * after a teardown */
	sigaction(SIGPIPE, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("stress: action %s, scale %u%%, seed %llu\n",
	       action ? action : "(default)", S.scale,
	       (unsigned long long)S.seed);
	for (s = argv[3]; *s != '\0'; s++) {
		void (*run)(void) = *s == 'a' ? scenario_a : *s == 'b' ? scenario_b :
				    *s == 'c' ? scenario_c : *s == 'd' ? scenario_d :
				    *s == 'e' ? scenario_e : *s == 'f' ? scenario_f :
				    NULL;
		unsigned before = atomic_load(&sigpipes);
		if (run == NULL) {
			fprintf(stderr, "unknown scenario %c\n", *s);
			return 2;
		}
		/* the watchdog: a deadlock kills the run (SIGALRM) */
		alarm(watchdog);
		run();
		alarm(0);
		if (atomic_load(&sigpipes) != before)
			printf("scenario %c: SIGPIPE %u (after a teardown %u)\n", *s,
			       atomic_load(&sigpipes) - before,
			       atomic_load(&sigpipes_late));
	}
	if (atomic_load(&sigpipes_late) > 0)
		fail('b', "SIGPIPE for %u writes after a teardown",
		     atomic_load(&sigpipes_late));
	printf("stress: %u failures\n", atomic_load(&failures));
	return atomic_load(&failures) == 0 ? 0 : 1;
}
