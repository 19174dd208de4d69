/* chaos.c - the hostile scenarios: descriptors replaced under writers (c),
 * fork from a busy process (d), signals during blocked reads (e). */
#define _GNU_SOURCE
#include "client.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* ---- c: one thread replaces descriptors while others write to them ----
 *
 * The churn thread calls the shim's own entry points (the next definition
 * after this executable, found with dlsym(RTLD_NEXT)), not TSan's
 * interceptors: the race on descriptor numbers is the point of the
 * scenario, and TSan would report it as the program's own fd race.  Races
 * inside the shim are still seen, since the shim itself is instrumented.
 * Writers write each request in one call, so the server must only ever
 * see whole requests. */

#define C_SLOTS 4
#define C_WRITERS 3

static struct {
	int (*socket)(int, int, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*dup2)(int, int);
	int (*close)(int);
	int (*open)(const char *, int, ...);
	int (*shutdown)(int, int);
} shim;
static int slot[C_SLOTS];
static atomic_int c_stop;
static atomic_uint c_writes, c_write_ok, c_reads, c_churn, c_errno[5];

static int c_connect(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)S.port) };
	int fd = shim.socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && shim.connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		fail('c', "churn connect: %s", strerror(errno));
		shim.close(fd);
		return -1;
	}
	return fd;
}

/* over slot number n: fd, which is then closed (unless it is n) */
static void c_replace(int fd, int n)
{
	if (fd < 0 || fd == n)
		return;
	if (shim.dup2(fd, n) != n)
		fail('c', "dup2: %s", strerror(errno));
	shim.close(fd);
}

static void *c_churn_thread(void *arg)
{
	unsigned i, ops = scaled(2000);
	struct rng r;

	(void)arg;
	rng_seed(&r, S.seed, 400);
	for (i = 0; i < ops; i++) {
		int n = slot[rng_below(&r, C_SLOTS)];
		switch (rng_below(&r, 6)) {
		case 0:
		case 1:	/* a fresh tracked connection */
			c_replace(c_connect(), n);
			break;
		case 2:	/* closed for a moment, then a fresh connection */
			shim.close(n);
			c_replace(c_connect(), n);
			break;
		case 3:
			c_replace(shim.open("/dev/null", O_RDWR), n);
			break;
		case 4:	/* a socket that is not connected */
			c_replace(shim.socket(AF_INET, SOCK_STREAM, 0), n);
			break;
		default:
			shim.shutdown(n, SHUT_RDWR);
			break;
		}
		atomic_fetch_add(&c_churn, 1);
		usleep(rng_below(&r, 300));	/* writers meet live connections too */
	}
	atomic_store(&c_stop, 1);
	return NULL;
}

/* errors a write or read on a replaced descriptor may give */
static int c_expected(int e)
{
	switch (e) {
	case EBADF:
		atomic_fetch_add(&c_errno[0], 1);
		return 1;
	case EPIPE:
	case ECONNRESET:
		atomic_fetch_add(&c_errno[1], 1);
		return 1;
	case ENOTSOCK:
		atomic_fetch_add(&c_errno[2], 1);
		return 1;
	case EAGAIN:
		atomic_fetch_add(&c_errno[3], 1);
		return 1;
	case ENOTCONN:
	case EINVAL:
		atomic_fetch_add(&c_errno[4], 1);
		return 1;
	}
	return 0;
}

static void *c_writer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, k, max = 1000000;
	char buf[512], tag[TAG_MAX];
	uint8_t *drain = malloc(65536);
	struct request q;
	struct rng r;

	rng_seed(&r, S.seed, 500 + id);
	for (k = 0; k < max && drain != NULL && !atomic_load(&c_stop); k++) {
		int n = slot[rng_below(&r, C_SLOTS)], e;
		struct pollfd pfd = { .events = POLLIN };
		size_t len;
		ssize_t got;

		snprintf(tag, sizeof tag, "c.%u.%u", id, k);
		request_random(&q, &r, tag, 1);
		q.len %= 2000;	/* the answers are drained, not read */
		q.fill %= 100;
		len = request_format(&q, buf);
		/* one call: a request is whole or not sent at all */
		e = send_request(n, buf, len, &r, 0);
		atomic_fetch_add(&c_writes, 1);
		if (e == 0)
			atomic_fetch_add(&c_write_ok, 1);
		else if (!c_expected(-e))
			fail('c', "write on %d: %s", n, strerror(-e));
		if (e != 0)	/* a dead slot: give the churn time to replace it */
			usleep(rng_below(&r, 200));
		/* drain answers so no connection ever stalls the server (a
		 * short wait, so that some answers are there to be read) */
		pfd.fd = n;
		poll(&pfd, 1, (int)rng_below(&r, 3));
		while ((got = recv(n, drain, 65536, MSG_DONTWAIT)) > 0)
			atomic_fetch_add(&c_reads, 1);
		if (got < 0 && !c_expected(errno))
			fail('c', "read on %d: %s", n, strerror(errno));
	}
	free(drain);
	return NULL;
}

void scenario_c(void)
{
	pthread_t churn, w[C_WRITERS];
	uintptr_t i;

	shim.socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	shim.connect = (int (*)(int, const struct sockaddr *, socklen_t))
		dlsym(RTLD_NEXT, "connect");
	shim.dup2 = (int (*)(int, int))dlsym(RTLD_NEXT, "dup2");
	shim.close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	shim.open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	shim.shutdown = (int (*)(int, int))dlsym(RTLD_NEXT, "shutdown");
	if (!shim.socket || !shim.connect || !shim.dup2 || !shim.close ||
	    !shim.open || !shim.shutdown) {
		fail('c', "dlsym(RTLD_NEXT): %s", dlerror());
		return;
	}
	for (i = 0; i < C_SLOTS; i++)
		if ((slot[i] = c_connect()) < 0)
			return;
	pthread_create(&churn, NULL, c_churn_thread, NULL);
	for (i = 0; i < C_WRITERS; i++)
		pthread_create(&w[i], NULL, c_writer, (void *)i);
	pthread_join(churn, NULL);
	for (i = 0; i < C_WRITERS; i++)
		pthread_join(w[i], NULL);
	for (i = 0; i < C_SLOTS; i++)
		shim.close(slot[i]);
	printf("scenario c: churn %u writes %u ok %u drained-reads %u errors "
	       "EBADF %u EPIPE/ECONNRESET %u ENOTSOCK %u EAGAIN %u "
	       "ENOTCONN/EINVAL %u\n", c_churn, c_writes, c_write_ok, c_reads,
	       c_errno[0], c_errno[1], c_errno[2], c_errno[3], c_errno[4]);
}

/* ---- d: fork while other threads are mid-request ---- */

#define D_WORKERS 4
static atomic_int d_stop;
static atomic_uint d_requests, d_verified;

static void *d_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, j;
	struct reader *rd = malloc(sizeof *rd);
	struct request q;
	struct rng r;
	char tag[TAG_MAX];

	rng_seed(&r, S.seed, 600 + id);
	for (j = 0; j < 100000 && rd != NULL && !atomic_load(&d_stop); j++) {
		snprintf(tag, sizeof tag, "d.%u.%u", id, j);
		request_random(&q, &r, tag, 1);
		atomic_fetch_add(&d_requests, 1);
		if (one_request('d', &q, &r, rd) == 0)
			atomic_fetch_add(&d_verified, 1);
	}
	free(rd);
	return NULL;
}

/* The child: one request on a new connection, verified; _exit. */
static void d_child(unsigned f)
{
	struct reader *rd = malloc(sizeof *rd);
	struct request q;
	struct rng r;
	char tag[TAG_MAX];

	alarm(30);
	rng_seed(&r, S.seed, 700 + f);
	snprintf(tag, sizeof tag, "d.child.%u", f);
	request_random(&q, &r, tag, 0);
	_exit(rd != NULL && one_request('D', &q, &r, rd) == 0 ? 0 : 1);
}

void scenario_d(void)
{
	pthread_t t[D_WORKERS];
	unsigned f, forks = scaled(8), children_ok = 0, waited;
	uintptr_t i;

	for (i = 0; i < D_WORKERS; i++)
		pthread_create(&t[i], NULL, d_worker, (void *)i);
	for (f = 0; f < forks; f++) {
		pid_t pid;
		int st;

		/* let the workers get going between forks (bounded) */
		for (waited = 0; atomic_load(&d_requests) < 4 * (f + 1) &&
				 waited < 20000; waited++)
			usleep(1000);
		atomic_fetch_add(&forks_begun, 1);
		pid = fork();
		if (pid == 0)
			d_child(f);
		atomic_fetch_add(&forks_ended, 1);
		if (pid < 0) {
			fail('d', "fork: %s", strerror(errno));
			break;
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			children_ok++;
		else
			fail('d', "child %u: %s %d", f,
			     WIFEXITED(st) ? "exit" : "signal",
			     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	atomic_store(&d_stop, 1);
	for (i = 0; i < D_WORKERS; i++)
		pthread_join(t[i], NULL);
	printf("scenario d: forks %u children verified %u parent requests %u "
	       "verified %u (given up at a fork %u)\n", forks, children_ok,
	       d_requests, d_verified, fork_passes);
}

/* ---- e: signals (no SA_RESTART) arrive in blocked reads ----
 *
 * The server holds each response until the signaller releases it (twice:
 * before the head and in the middle of the body), and the signaller only
 * releases once the reader has seen EINTR there: every request meets an
 * interrupted read in its head and in its body, whatever the timing. */

#define E_PAIRS 3

struct e_pair {
	unsigned id, n;
	pthread_t reader;
	sem_t sent, finished;
	struct request q;
	struct reader rd;
	unsigned verified;
};

static void on_usr1(int sig)
{
	(void)sig;
}

static int e_wait(sem_t *s)
{
	struct timespec until;
	int r;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	while ((r = sem_timedwait(s, &until)) < 0 && errno == EINTR)
		;
	return r;
}

static void *e_reader(void *arg)
{
	struct e_pair *p = arg;
	char buf[512], why[200];
	unsigned k;
	struct rng r;

	rng_seed(&r, S.seed, 800 + p->id);
	for (k = 0; k < p->n; k++) {
		int fd = connect_server(), port = fd >= 0 ? local_port(fd) : -1, e;
		size_t len;

		if (fd < 0) {
			fail('e', "connect: %s", strerror(errno));
			break;
		}
		snprintf(p->q.tag, sizeof p->q.tag, "e.%u.%u", p->id, k);
		strcpy(p->q.kind, "hold");
		p->q.head = 0;
		p->q.fill = 0;
		p->q.len = 2 + rng_below(&r, 20000);
		len = request_format(&p->q, buf);
		e = send_request(fd, buf, len, &r, 0);
		sem_post(&p->sent);	/* the signaller may start */
		reader_init(&p->rd, fd, &r);
		if (p->rd.max < 64 && p->q.len > 3000)
			p->rd.max = 512;
		if (e < 0)
			fail('e', "%s: write: %s", p->q.tag, strerror(-e));
		else if (read_response(&p->rd, &p->q, 1, why, sizeof why) < 0 ||
			 (S.teardown && expect_eof(&p->rd, why, sizeof why) < 0))
			fail('e', "%s: %s", p->q.tag, why);
		else
			p->verified++;
		close(fd);
		expect_requests(port, e < 0 ? 0 : 1, e < 0 ? 0 : 1, p->q.tag, 'e');
		sem_post(&p->finished);
		if (e < 0)
			break;
	}
	return NULL;
}

/* Signals the reader until it reports an EINTR in `phase`, then releases
 * `stage` of its response.  0, or -1 after fail(). */
static int e_interrupt(struct e_pair *p, int phase, int stage,
		       struct rng *r, struct reader *rd)
{
	unsigned base = atomic_load(&p->rd.eintr[phase]), i;
	struct request rel = { .len = (size_t)stage };

	for (i = 0; i < 20000 && atomic_load(&p->rd.eintr[phase]) == base; i++) {
		pthread_kill(p->reader, SIGUSR1);
		usleep(500);
	}
	if (atomic_load(&p->rd.eintr[phase]) == base) {
		fail('e', "%s: no EINTR in the %s", p->q.tag,
		     phase ? "body" : "head");
		return -1;
	}
	strcpy(rel.kind, "rel");
	snprintf(rel.tag, sizeof rel.tag, "%s", p->q.tag);
	return one_request('e', &rel, r, rd);
}

void scenario_e(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct e_pair *p = calloc(E_PAIRS, sizeof *p);
	struct reader *rd = malloc(sizeof *rd);
	unsigned i, k, n = scaled(6), requests = 0, verified = 0;
	unsigned eintr_head = 0, eintr_body = 0;
	struct rng r;

	if (p == NULL || rd == NULL) {
		fail('e', "out of memory");
		return;
	}
	sigaction(SIGUSR1, &sa, NULL);
	rng_seed(&r, S.seed, 900);
	for (i = 0; i < E_PAIRS; i++) {
		p[i].id = i;
		p[i].n = n;
		sem_init(&p[i].sent, 0, 0);
		sem_init(&p[i].finished, 0, 0);
		pthread_create(&p[i].reader, NULL, e_reader, &p[i]);
	}
	/* one signaller, the readers in turn: each waits in its read */
	for (k = 0; k < n; k++)
		for (i = 0; i < E_PAIRS; i++) {
			if (e_wait(&p[i].sent) < 0) {
				fail('e', "reader %u never wrote", i);
				continue;
			}
			if (e_interrupt(&p[i], 0, 1, &r, rd) == 0)
				e_interrupt(&p[i], 1, 2, &r, rd);
			if (e_wait(&p[i].finished) < 0)
				fail('e', "reader %u never finished", i);
			requests++;
		}
	for (i = 0; i < E_PAIRS; i++) {
		pthread_join(p[i].reader, NULL);
		verified += p[i].verified;
		eintr_head += atomic_load(&p[i].rd.eintr[0]);
		eintr_body += atomic_load(&p[i].rd.eintr[1]);
		sem_destroy(&p[i].sent);
		sem_destroy(&p[i].finished);
	}
	printf("scenario e: requests %u verified %u EINTR in heads %u in bodies %u\n",
	       requests, verified, eintr_head, eintr_body);
	free(p);
	free(rd);
}
