/* errno_check: return values and errno of failing (and zero-length)
 * write-family calls, printed one line per case as "CASE ret=R errno=NAME",
 * so that a run under libforceclose.so can be compared line by line with a
 * run without it ("errno as libc").
 *
 * usage: errno_check [--groups G1,G2... | --efault] ADDR
 *
 * ADDR is a recording server (sink mode is fine).  The program connects
 * (a tracked socket for the shim), runs the cases, then writes one complete
 * request "GET /after-errors HTTP/1.1" so that the wire shows whether the
 * shim's state survived the failed calls, then exercises EPIPE (and SIGPIPE
 * in a child) after shutdown(SHUT_WR).
 * Groups of cases (default badfd,args,zero,splice):
 *   badfd   descriptors that are not sockets / not open (EBADF, ENOTSOCK)
 *   args    bad counts on the tracked socket (EINVAL, EMSGSIZE)
 *   zero    zero-length calls on the tracked socket (return 0)
 *   splice  sendfile()/splice() from an invalid descriptor (EBADF)
 *   efault  invalid buffer pointers on the tracked socket before any request
 *           byte (the kernel answers EFAULT; a shim reading the buffer itself
 *           must not crash); --efault is --groups efault
 *
 * errno_check --exchange ADDR (a keep-alive recording server): errno around
 * one whole exchange on a tracked socket.  Every call is made with errno set
 * to a sentinel (4242, no real errno); a call that succeeds must leave it
 * there, as libc does.  Per family one line "FAMILY calls=yes changed=N"
 * (N: successful calls that changed errno; the number of calls differs
 * with the rewritten head, so it is not printed).  Families: connect,
 * write, send, sendto, sendmsg, writev (the request in pieces), read,
 * recv, recvfrom, recvmsg, readv, peek (the response in 7-byte pieces, in
 * turn, until its Content-Length is complete), dup, dup2, dup3, fcntl-dupfd,
 * close, shutdown, setsockopt, getsockopt, getpeername, fcntl, ioctl-fionread, poll.  And the failing reads on the tracked socket, one line
 * each "CASE ret=R errno=NAME", made before the request (EAGAIN, EINTR,
 * EINVAL).  Options after --exchange: --iovmax adds recvmsg() with 1100
 * iovecs before the request (EMSGSIZE); --efault adds read() and recv()
 * into an invalid pointer while the response waits in the kernel (EFAULT,
 * nothing consumed); --trickle asks for the response sent 1 to 7 bytes
 * a segment with pauses, so that reads wait for bytes and meet partial
 * heads (a look or a wait inside the library that fails with EAGAIN
 * must not show in errno).
 * Bounded by alarm().
 */
#define _GNU_SOURCE
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "testlib.h"

static void usage(void)
{
    fprintf(stderr, "usage: errno_check [--groups badfd,args,zero,splice,efault | --efault] ADDR\n"
                    "  ADDR  127.0.0.1:PORT | [::1]:PORT | unix:PATH\n");
    exit(2);
}

static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EPIPE: return "EPIPE";
    case EMSGSIZE: return "EMSGSIZE";
    case EAGAIN: return "EAGAIN";
    case ENOTCONN: return "ENOTCONN";
    case EISCONN: return "EISCONN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ESPIPE: return "ESPIPE";
    case ECONNRESET: return "ECONNRESET";
    case EINTR: return "EINTR";
    default: {
        static char b[32];
        snprintf(b, sizeof b, "errno%d", e);
        return b;
    }
    }
}

static void report(const char *name, long r)
{
    int e = r < 0 ? errno : 0;
    printf("%s ret=%ld errno=%s\n", name, r, ename(e));
    fflush(stdout);
}

static int has(const char *list, const char *g)
{
    size_t n = strlen(g);
    for (const char *p = list; (p = strstr(p, g)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

#define SENTINEL 4242

struct fam { const char *name; unsigned calls, changed; };
static struct fam fams[32];
static unsigned nfams;

/* ok(NAME, r): r is the result of a call made with errno = SENTINEL */
static long ok(const char *name, long r)
{
    int e = errno;
    unsigned k;
    for (k = 0; k < nfams && strcmp(fams[k].name, name); k++) {}
    if (k == nfams) fams[nfams++].name = name;
    if (r >= 0) {
        fams[k].calls++;
        if (e != SENTINEL) fams[k].changed++;
    }
    errno = e;
    return r;
}
#define OK(name, call) (errno = SENTINEL, ok(name, (long)(call)))
#define FAIL(name, call) (errno = 0, report(name, (long)(call)))

static void on_alarm(int sig) { (void)sig; }

static int exchange(const char *addr, int iovmax, int efault, int trickle)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int s, fl, k;
    char *volatile badp = (char *)8;
    volatile int negcnt = -1;
    static struct iovec big[1100];
    char b[64];

    if (tl_parse_addr(addr, &ss, &sl, 1) < 0) usage();
    if ((s = socket(ss.ss_family, SOCK_STREAM, 0)) < 0) { perror("socket"); return 1; }
    if (OK("connect", connect(s, (struct sockaddr *)&ss, sl)) < 0) { perror("connect"); return 1; }

    /* failing reads before the request: nothing to read yet */
    FAIL("recv-dontwait", recv(s, b, sizeof b, MSG_DONTWAIT));
    fl = fcntl(s, F_GETFL);
    fcntl(s, F_SETFL, fl | O_NONBLOCK);
    FAIL("read-nonblock", read(s, b, sizeof b));
    FAIL("read-nonblock-big", read(s, b, 1));
    struct iovec riov[2] = { { b, 3 }, { b + 3, 600 } };
    static char bigbuf[4096];
    FAIL("recv-nonblock-4096", recv(s, bigbuf, sizeof bigbuf, 0));
    FAIL("readv-nonblock", readv(s, riov, 1));
    FAIL("recvfrom-nonblock", recvfrom(s, b, sizeof b, 0, NULL, NULL));
    struct msghdr m = { .msg_iov = riov, .msg_iovlen = 2 };
    FAIL("recvmsg-nonblock", recvmsg(s, &m, 0));
    FAIL("peek-nonblock", recv(s, b, sizeof b, MSG_PEEK));
    fcntl(s, F_SETFL, fl);
    /* a blocking read interrupted by a signal (no SA_RESTART): EINTR */
    struct sigaction sa = { .sa_handler = on_alarm };
    struct sigaction old;
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = { .it_value = { 0, 100000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    FAIL("read-eintr", read(s, b, sizeof b));
    setitimer(ITIMER_REAL, &it, NULL);
    FAIL("recv-eintr", recv(s, bigbuf, sizeof bigbuf, 0));
    sigaction(SIGALRM, &old, NULL);
    tl_alarm("errno_check", 20);
    for (k = 0; k < 1100; k++) { big[k].iov_base = b; big[k].iov_len = 1; }
    FAIL("readv-negcnt", readv(s, riov, negcnt));
    FAIL("readv-1025", readv(s, big, 1025));
    if (iovmax) {
        /* more than IOV_MAX iovecs: EMSGSIZE at once, nothing read */
        memset(&m, 0, sizeof m); m.msg_iov = big; m.msg_iovlen = 1100;
        FAIL("recvmsg-1100", recvmsg(s, &m, 0));
    }

    /* the request in pieces, one family each */
    static const char REQ_NOW[] = "GET /size/3000 HTTP/1.1\r\nHost: errno\r\nUser-Agent: errno_check\r\nAccept: */*\r\n\r\n";
    static const char REQ_TRICKLE[] = "GET /trickle/size/3000 HTTP/1.1\r\nHost: errno\r\nUser-Agent: errno_check\r\nAccept: */*\r\n\r\n";
    const char *REQ = trickle ? REQ_TRICKLE : REQ_NOW;
    size_t off = 0, n = strlen(REQ);
    struct iovec wiov[2];
    struct msghdr wm;
    for (k = 0; off < n; k++) {
        size_t c = n - off < 9 ? n - off : 9;
        long r;
        switch (k % 5) {
        case 0: r = OK("write", write(s, REQ + off, c)); break;
        case 1: r = OK("send", send(s, REQ + off, c, 0)); break;
        case 2: r = OK("sendto", sendto(s, REQ + off, c, 0, NULL, 0)); break;
        case 3:
            wiov[0].iov_base = (void *)(REQ + off); wiov[0].iov_len = c / 2;
            wiov[1].iov_base = (void *)(REQ + off + c / 2); wiov[1].iov_len = c - c / 2;
            memset(&wm, 0, sizeof wm); wm.msg_iov = wiov; wm.msg_iovlen = 2;
            r = OK("sendmsg", sendmsg(s, &wm, 0));
            break;
        default:
            wiov[0].iov_base = (void *)(REQ + off); wiov[0].iov_len = 1;
            wiov[1].iov_base = (void *)(REQ + off + 1); wiov[1].iov_len = c - 1;
            r = OK("writev", writev(s, wiov, 2));
        }
        if (r <= 0) { perror("request write"); return 1; }
        off += (size_t)r;
    }

    /* other calls on the tracked socket */
    int one = 1, v = 0, q = 0;
    socklen_t vl = sizeof v;
    OK("setsockopt", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    OK("getsockopt", getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &vl));
    sl = sizeof ss;
    OK("getpeername", getpeername(s, (struct sockaddr *)&ss, &sl));
    OK("fcntl", fcntl(s, F_GETFL));
    int d = (int)OK("dup", dup(s));
    OK("close", close(d));
    OK("dup2", dup2(s, 200));
    OK("close", close(200));
    OK("dup3", dup3(s, 201, O_CLOEXEC));
    OK("close", close(201));
    d = (int)OK("fcntl-dupfd", fcntl(s, F_DUPFD_CLOEXEC, 300));
    OK("close", close(d));

    /* the response: wait until it is there, then a failing read into a bad
     * pointer (EFAULT; nothing is consumed), then read it in 7-byte pieces */
    struct pollfd p = { .fd = s, .events = POLLIN };
    if (OK("poll", poll(&p, 1, 20000)) != 1) { fprintf(stderr, "no response\n"); return 1; }
    if (efault) {
        FAIL("read-efault", read(s, badp, 7));
        FAIL("recv-efault-4096", recv(s, badp, 4096, 0));
    }
    OK("ioctl-fionread", ioctl(s, FIONREAD, &q));
    static char resp[16384];
    size_t got = 0, head = 0, clen = 0;
    for (k = 0; !head || got < head + clen; k++) {
        char *at = resp + got;
        size_t c = sizeof resp - got < 7 ? sizeof resp - got : 7;
        long r;
        struct iovec ri[2] = { { at, 2 }, { at + 2, c - 2 } };
        struct msghdr rm = { .msg_iov = ri, .msg_iovlen = 2 };
        switch (k % 6) {
        case 0: r = OK("read", read(s, at, c)); break;
        case 1: r = OK("recv", recv(s, at, c, 0)); break;
        case 2: r = OK("recvfrom", recvfrom(s, at, c, 0, NULL, NULL)); break;
        case 3: r = OK("recvmsg", recvmsg(s, &rm, 0)); break;
        case 4: r = OK("readv", readv(s, ri, 2)); break;
        default:
            r = OK("peek", recv(s, at, c, MSG_PEEK));
            if (r > 0) r = OK("recv", recv(s, at, (size_t)r, 0));
        }
        if (r <= 0) { fprintf(stderr, "response read: %ld after %zu\n", r, got); return 1; }
        got += (size_t)r;
        if (!head) {
            char *e = memmem(resp, got, "\r\n\r\n", 4);
            if (e) {
                head = (size_t)(e - resp) + 4;
                char *cl = strcasestr(resp, "\r\ncontent-length:");
                if (!cl || cl > e) { fprintf(stderr, "no Content-Length\n"); return 1; }
                clen = strtoul(cl + 17, NULL, 10);
            }
        }
    }
    if (got != head + clen) { fprintf(stderr, "read past the response\n"); return 1; }
    OK("close", close(s));

    /* a second tracked connection, no traffic: shutdown, then close */
    int s2 = tl_connect_addr(addr, SOCK_STREAM, 0);
    if (s2 < 0) return 1;
    OK("shutdown", shutdown(s2, SHUT_RDWR));
    OK("close", close(s2));

    for (unsigned f = 0; f < nfams; f++)
        printf("%s calls=%s changed=%u\n", fams[f].name, fams[f].calls ? "yes" : "no",
               fams[f].changed);
    return 0;
}

int main(int argc, char **argv)
{
    const char *groups = "badfd,args,zero,splice";
    int i = 1;
    if (argc >= 3 && !strcmp(argv[1], "--exchange")) {
        int iovmax = 0, efault = 0, trickle = 0;
        for (i = 2; i < argc - 1; i++) {
            if (!strcmp(argv[i], "--iovmax")) iovmax = 1;
            else if (!strcmp(argv[i], "--efault")) efault = 1;
            else if (!strcmp(argv[i], "--trickle")) trickle = 1;
            else usage();
        }
        tl_alarm("errno_check", 20);
        signal(SIGPIPE, SIG_IGN);
        return exchange(argv[argc - 1], iovmax, efault, trickle);
    }
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--efault")) groups = "efault";
        else if (!strcmp(argv[i], "--groups") && i + 1 < argc) groups = argv[++i];
        else usage();
    }
    if (i + 1 != argc) usage();
    tl_alarm("errno_check", 20);
    signal(SIGPIPE, SIG_IGN);

    static const char X[] = "xyz";
    /* volatile: keep the compiler from rejecting deliberately bad arguments */
    volatile int negcnt = -1;
    void *volatile nullp = NULL;
    struct iovec *volatile badiov = (struct iovec *)8;
    struct msghdr *volatile badmsg = (struct msghdr *)8;
    int s = tl_connect_addr(argv[i], SOCK_STREAM, 0);
    if (s < 0) usage();
    struct iovec iov[2] = { { (void *)X, 1 }, { (void *)(X + 1), 2 } };
    struct msghdr m;
    static struct iovec big[1100];
    for (int k = 0; k < 1100; k++) { big[k].iov_base = (void *)X; big[k].iov_len = 0; }

    if (has(groups, "badfd")) {
        /* descriptors that are not (or no longer) sockets */
        errno = 0; report("write-minus1", write(-1, X, 3));
        errno = 0; report("send-minus1", send(-1, X, 3, 0));
        errno = 0; report("writev-minus1", writev(-1, iov, 2));
        int dn = open("/dev/null", O_WRONLY);
        errno = 0; report("send-devnull", send(dn, X, 3, 0));
        errno = 0; report("sendto-devnull", sendto(dn, X, 3, 0, NULL, 0));
        memset(&m, 0, sizeof m); m.msg_iov = iov; m.msg_iovlen = 2;
        errno = 0; report("sendmsg-devnull", sendmsg(dn, &m, 0));
        errno = 0; report("write-devnull", write(dn, X, 3));
        int closed = dup(dn);
        close(closed);
        errno = 0; report("write-closedfd", write(closed, X, 3));
        close(dn);
    }
    if (has(groups, "args")) {
        /* bad arguments on the tracked socket, before any request byte */
        errno = 0; report("writev-negcnt", writev(s, iov, negcnt));
        errno = 0; report("writev-1025", writev(s, big, 1025));
        memset(&m, 0, sizeof m); m.msg_iov = big; m.msg_iovlen = 1100;
        errno = 0; report("sendmsg-1100", sendmsg(s, &m, 0));
    }
    if (has(groups, "zero")) {
        errno = 0; report("write-zero", write(s, X, 0));
        errno = 0; report("send-zero", send(s, X, 0, 0));
        errno = 0; report("writev-zero", writev(s, iov, 0));
        errno = 0; report("writev-zerolen", writev(s, big, 5));
        errno = 0; report("sendmmsg-zero", sendmmsg(s, NULL, 0, 0));
    }
    if (has(groups, "splice")) {
        /* failing sendfile/splice: nothing is sent */
        errno = 0; report("sendfile-badin", sendfile(s, -1, NULL, 3));
        errno = 0; report("splice-badin", splice(-1, NULL, s, NULL, 3, 0));
    }
    if (has(groups, "efault")) {
        errno = 0; report("write-null", write(s, nullp, 5));
        errno = 0; report("send-null", send(s, nullp, 5, 0));
        struct iovec bad[2] = { { NULL, 4 }, { (void *)X, 3 } };
        errno = 0; report("writev-nullbase", writev(s, bad, 2));
        errno = 0; report("writev-badptr", writev(s, badiov, 2));
        memset(&m, 0, sizeof m); m.msg_iov = bad; m.msg_iovlen = 2;
        errno = 0; report("sendmsg-nullbase", sendmsg(s, &m, 0));
        errno = 0; report("sendmsg-badmsg", sendmsg(s, badmsg, 0));
    }

    /* a valid request: must still be recognised as the stream's start */
    static const char REQ[] = "GET /after-errors HTTP/1.1\r\nHost: errno\r\n\r\n";
    errno = 0; report("write-request", write(s, REQ, sizeof REQ - 1));

    /* EPIPE after shutdown(SHUT_WR) */
    if (shutdown(s, SHUT_WR) < 0) { perror("shutdown"); return 1; }
    static const char REQ2[] = "GET /after-shutdown HTTP/1.1\r\nHost: errno\r\n\r\n";
    errno = 0; report("write-after-shutdown", write(s, REQ2, sizeof REQ2 - 1));
    errno = 0; report("send-after-shutdown", send(s, REQ2, sizeof REQ2 - 1, MSG_NOSIGNAL));
    errno = 0; report("writev-after-shutdown", writev(s, iov, 2));

    /* SIGPIPE is raised (default disposition) in a child */
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        ssize_t r = write(s, REQ2, sizeof REQ2 - 1);
        _exit(r < 0 ? 10 : 11);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) printf("child-write-after-shutdown signal=%d\n", WTERMSIG(st));
    else printf("child-write-after-shutdown exit=%d\n", WEXITSTATUS(st));
    pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        ssize_t r = send(s, REQ2, sizeof REQ2 - 1, MSG_NOSIGNAL);
        _exit(r < 0 && errno == EPIPE ? 10 : 11);
    }
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) printf("child-send-nosignal signal=%d\n", WTERMSIG(st));
    else printf("child-send-nosignal exit=%d\n", WEXITSTATUS(st));
    close(s);
    return 0;
}
