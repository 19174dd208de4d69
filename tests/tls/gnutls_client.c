/* gnutls_client.c - a GnuTLS client for tests/tls.bats.
 *
 *   gnutls_client MODE PORT CAFILE PATH N OUTDIR
 *
 * N keep-alive requests, each on the connection the previous one used
 * while the server keeps it open (a new one once it ended).  MODE:
 *   block  blocking socket, gnutls_record_recv
 *   seq    blocking, gnutls_record_recv_seq: the sequence numbers reported
 *          never go backwards within a session (exit 3 if they do)
 *   nb     non-blocking socket, poll() on GNUTLS_E_AGAIN; reads of 1 to
 *          160 bytes (cycling); before a read, unless
 *          gnutls_record_check_pending reports plaintext, poll() the socket
 *          (2 s): a read that then returns bytes the poll did not announce
 *          means plaintext was held where the program could not see it
 *          (exit 4)
 *   intr   blocking socket, a 1 ms interval timer whose handler has no
 *          SA_RESTART: the library's reads fail with GNUTLS_E_INTERRUPTED
 *          and are called again, as the GnuTLS manual says
 * Bodies go to OUTDIR/NNNN.  Prints "again N" / "interrupted N" (how many
 * reads and writes answered GNUTLS_E_AGAIN / GNUTLS_E_INTERRUPTED), and
 * after the last response (if it said close) one more read and one write:
 * "after-read R" and "after-write R"; "connections C". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *mode;
static gnutls_certificate_credentials_t cred;
static long again, interrupted;
static unsigned char last_seq[8];
static int have_seq;

static void die(const char *what, int e)
{
	fprintf(stderr, "gnutls_client: %s (%s, errno %d)\n", what,
		gnutls_strerror(e), errno);
	exit(1);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A failure GnuTLS asks to be called again for: waited for and counted. */
static int retry(gnutls_session_t s, int fd, ssize_t r)
{
	struct pollfd p = { fd, POLLIN, 0 };

	if (r == GNUTLS_E_INTERRUPTED) {
		interrupted++;
		return 1;
	}
	if (r != GNUTLS_E_AGAIN)
		return 0;
	again++;
	if (gnutls_record_get_direction(s) == 1)
		p.events = POLLOUT;
	poll(&p, 1, 2000);
	return 1;
}

static gnutls_session_t open_conn(int port, int *fd_out)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;
	gnutls_session_t s;
	sigset_t alrm, old;

	/* the timer is for the TLS calls, not for connect() */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, &old);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd < 0 || connect(fd, (void *)&a, sizeof a) != 0)
		die("connect", 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (strcmp(mode, "nb") == 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_session_set_verify_cert(s, "127.0.0.1", 0);
	gnutls_transport_set_int(s, fd);
	do
		r = gnutls_handshake(s);
	while (r < 0 && retry(s, fd, r));
	if (r < 0)
		die("handshake", r);
	have_seq = 0;
	*fd_out = fd;
	return s;
}

/* One read as the mode does it; 0 at the end of the stream. */
static size_t get(gnutls_session_t s, int fd, char *buf, size_t n)
{
	static unsigned cycle;
	unsigned char seq[8];
	ssize_t r;

	for (;;) {
		int silent = 0;

		if (strcmp(mode, "nb") == 0) {
			struct pollfd p = { fd, POLLIN, 0 };
			size_t k = 1 + (cycle++ * 7) % 160;
			if (n > k)
				n = k;
			if (gnutls_record_check_pending(s) == 0)
				silent = poll(&p, 1, 2000) == 0;
		}
		if (strcmp(mode, "seq") == 0)
			r = gnutls_record_recv_seq(s, buf, n, seq);
		else
			r = gnutls_record_recv(s, buf, n);
		if (r > 0 && silent) {
			fprintf(stderr, "plaintext held unannounced\n");
			exit(4);
		}
		if (r > 0 && strcmp(mode, "seq") == 0) {
			if (have_seq && memcmp(seq, last_seq, 8) < 0) {
				fprintf(stderr, "sequence number went back\n");
				exit(3);
			}
			memcpy(last_seq, seq, 8);
			have_seq = 1;
		}
		if (r > 0)
			return (size_t)r;
		if (r == 0 || !retry(s, fd, r))
			return 0;
	}
}

static void put(gnutls_session_t s, int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		/* after GNUTLS_E_AGAIN/INTERRUPTED, the same data again */
		r = gnutls_record_send(s, p, n);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (!retry(s, fd, r))
			die("record_send", (int)r);
	}
}

int main(int argc, char **argv)
{
	static char buf[65536];
	gnutls_session_t s = NULL;
	int port, n, i, fd = -1, conns = 0;
	char req[512], path[4096];

	if (argc != 7)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	mode = argv[1];
	port = atoi(argv[2]);
	n = atoi(argv[5]);
	gnutls_global_init();
	gnutls_certificate_allocate_credentials(&cred);
	if (gnutls_certificate_set_x509_trust_file(cred, argv[3],
						   GNUTLS_X509_FMT_PEM) <= 0)
		die("CA file", 0);
	if (strcmp(mode, "intr") == 0) {
		struct sigaction sa = { .sa_handler = on_alarm };
		struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
		sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
		setitimer(ITIMER_REAL, &it, NULL);
	}
	for (i = 0; i < n; i++) {
		size_t have = 0, body, want;
		char *end, *cl;
		FILE *f;
		int said_close;

		if (s == NULL) {
			s = open_conn(port, &fd);
			conns++;
		}
		snprintf(req, sizeof req,
			 "GET %s/%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			 "Connection: keep-alive\r\n\r\n", argv[4], i, port);
		put(s, fd, req, strlen(req));
		while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
			size_t k = get(s, fd, buf + have, sizeof buf - have);
			if (k == 0)
				die("end of stream in a head", 0);
			have += k;
		}
		cl = strcasestr(buf, "\ncontent-length:");
		if (cl == NULL || cl > end)
			die("no Content-Length", 0);
		want = strtoul(cl + 16, NULL, 10);
		said_close = strcasestr(buf, "\nconnection: close") != NULL &&
			     strcasestr(buf, "\nconnection: close") < end;
		body = have - (size_t)(end + 4 - buf);
		snprintf(path, sizeof path, "%s/%04d", argv[6], i);
		f = fopen(path, "wb");
		fwrite(end + 4, 1, body, f);
		while (body < want) {
			size_t k = get(s, fd, buf, want - body < sizeof buf ?
						     want - body : sizeof buf);
			if (k == 0)
				die("end of stream in a body", 0);
			fwrite(buf, 1, k, f);
			body += k;
		}
		fclose(f);
		memset(buf, 0, sizeof buf);
		if (i == n - 1 && said_close) {
			ssize_t rr, rw;
			do
				rr = gnutls_record_recv(s, buf, 1);
			while (rr < 0 && retry(s, fd, rr));
			rw = gnutls_record_send(s, "x", 1);
			printf("after-read %zd\nafter-write %zd\n", rr, rw);
		}
		if (said_close) {
			gnutls_bye(s, GNUTLS_SHUT_WR);
			gnutls_deinit(s);
			close(fd);
			s = NULL;
		}
	}
	if (strcmp(mode, "intr") == 0) {
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &off, NULL);
	}
	printf("again %ld\ninterrupted %ld\nconnections %d\n", again,
	       interrupted, conns);
	return 0;
}
