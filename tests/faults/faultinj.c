/* faultinj.so: makes the send calls on one TCP connection return what the
 * kernel may legally return at any time - short counts, EAGAIN, EINTR - at
 * places chosen by the test, which a real socket only produces at random.
 *
 * Preloaded AFTER libforceclose.so (LD_PRELOAD="$FC_LIB:faultinj.so"), it
 * is what the shim's dlsym(RTLD_NEXT) finds: the faults hit the shim's own
 * sends, exactly as a kernel's would.  Preloaded alone it hits the
 * program's sends: the baseline.  Nothing is invented or dropped: a short
 * count sends exactly that many bytes; EAGAIN and EINTR send none.
 *
 * Only sockets connected to 127.0.0.1:$FAULT_PORT are touched.
 * FAULT_MODE is a comma-separated list of:
 *   sweep     connection n (1, 2, ... in connect order) gets one short
 *             count: the call that would carry wire byte n is cut just
 *             before it, unless a call starts there anyway (so a call
 *             boundary at every offset of a stream, given enough
 *             connections)
 *   cap=N     every call sends at most N bytes
 *   eagain=N  on a non-blocking socket (or with MSG_DONTWAIT), the N calls
 *             after every successful one fail with EAGAIN
 *   eintr=N   the N calls after every successful one fail with EINTR
 * FAULT_REPORT=FILE: at exit, one line "split=N capped=N eagain=N eintr=N"
 * is appended to FILE: connections split as sweep says, and the faults
 * actually injected.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_FD 4096
#define MAX_IOV 1024

static struct {
	int target;			/* connected to FAULT_PORT */
	unsigned conn;			/* its number, from 1 */
	unsigned long long off;		/* wire bytes sent so far */
	unsigned skip;			/* failing calls still due */
	int cut_done;
} st[MAX_FD];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned conns, port;
static int sweep;
static size_t cap;
static unsigned n_eagain, n_eintr;
static unsigned long done_split, done_capped, done_eagain, done_eintr;

static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);

static void setup(void)
{
	const char *m = getenv("FAULT_MODE"), *p = getenv("FAULT_PORT");
	real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	real_sendmsg = (ssize_t (*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_writev = (ssize_t (*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
	real_sendto = (ssize_t (*)(int, const void *, size_t, int, const struct sockaddr *,
				   socklen_t))dlsym(RTLD_NEXT, "sendto");
	port = p ? (unsigned)atoi(p) : 0;
	while (m && *m) {
		if (!strncmp(m, "sweep", 5)) sweep = 1;
		else if (!strncmp(m, "cap=", 4)) cap = strtoul(m + 4, NULL, 10);
		else if (!strncmp(m, "eagain=", 7)) n_eagain = (unsigned)atoi(m + 7);
		else if (!strncmp(m, "eintr=", 6)) n_eintr = (unsigned)atoi(m + 6);
		m = strchr(m, ',');
		if (m) m++;
	}
}

static void init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, setup);
}

EXPORT int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	init();
	int r = real_connect(fd, a, len);
	if (fd >= 0 && fd < MAX_FD && (r == 0 || errno == EINPROGRESS)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;
		int saved = errno;
		pthread_mutex_lock(&mu);
		memset(&st[fd], 0, sizeof st[fd]);
		if (a->sa_family == AF_INET && ntohs(in->sin_port) == port) {
			st[fd].target = 1;
			st[fd].conn = ++conns;
		}
		pthread_mutex_unlock(&mu);
		errno = saved;
	}
	return r;
}

/* The one place every send goes through: decides the fault, trims the
 * iovecs, sends, counts.  The lock is held across the send (a blocking one
 * too): the writers in the tests are single-threaded. */
static ssize_t faulty(int fd, const struct iovec *iov, size_t cnt, int flags)
{
	struct iovec v[MAX_IOV];
	struct msghdr m;
	size_t total = 0, lim, i, k = 0;
	ssize_t r;

	init();
	memset(&m, 0, sizeof m);
	m.msg_iov = (struct iovec *)iov;
	m.msg_iovlen = cnt;
	if (fd < 0 || fd >= MAX_FD || !st[fd].target || cnt > MAX_IOV)
		return real_sendmsg(fd, &m, flags);
	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	pthread_mutex_lock(&mu);
	if (total > 0 && st[fd].skip > 0) {
		int nb = (flags & MSG_DONTWAIT) || (fcntl(fd, F_GETFL) & O_NONBLOCK);
		st[fd].skip--;
		if (n_eintr || nb) {
			if (n_eintr)
				done_eintr++;
			else
				done_eagain++;
			pthread_mutex_unlock(&mu);
			errno = n_eintr ? EINTR : EAGAIN;
			return -1;
		}
	}
	lim = total;
	if (cap && lim > cap) {
		lim = cap;
		done_capped++;
	}
	if (sweep && !st[fd].cut_done && st[fd].off + lim > st[fd].conn) {
		/* a call that starts at byte n already has its boundary there */
		if (st[fd].off < st[fd].conn)
			lim = st[fd].conn - st[fd].off;
		st[fd].cut_done = 1;
		done_split++;
	}
	for (i = 0; i < cnt && lim > 0; i++) {
		v[k] = iov[i];
		if (v[k].iov_len > lim)
			v[k].iov_len = lim;
		lim -= v[k].iov_len;
		k++;
	}
	if (total > 0) {
		m.msg_iov = v;
		m.msg_iovlen = k;
	}
	r = real_sendmsg(fd, &m, flags);
	if (r > 0) {
		st[fd].off += (unsigned long long)r;
		st[fd].skip = n_eagain + n_eintr;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	init();
	if (fd < 0 || fd >= MAX_FD || !st[fd].target || msg->msg_name || msg->msg_controllen)
		return real_sendmsg(fd, msg, flags);
	return faulty(fd, msg->msg_iov, msg->msg_iovlen, flags);
}


static int targeted(int fd)
{
	init();
	return fd >= 0 && fd < MAX_FD && st[fd].target;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };
	return targeted(fd) ? faulty(fd, &v, 1, 0) : real_write(fd, buf, n);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	return targeted(fd) && cnt >= 0 ? faulty(fd, iov, (size_t)cnt, 0) : real_writev(fd, iov, cnt);
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct iovec v = { (void *)buf, n };
	return targeted(fd) ? faulty(fd, &v, 1, flags) : real_sendto(fd, buf, n, flags, NULL, 0);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
		      socklen_t al)
{
	struct iovec v = { (void *)buf, n };
	return targeted(fd) && a == NULL ? faulty(fd, &v, 1, flags)
					 : real_sendto(fd, buf, n, flags, a, al);
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("FAULT_REPORT");
	char line[160];
	int fd, n;

	if (path == NULL)
		return;
	n = snprintf(line, sizeof line, "split=%lu capped=%lu eagain=%lu eintr=%lu\n",
		     done_split, done_capped, done_eagain, done_eintr);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd >= 0) {
		init();
		if (real_write(fd, line, (size_t)n)) {}
		close(fd);
	}
}
