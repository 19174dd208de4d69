/* reader: an HTTP/1.1 client that reads responses with one chosen read
 * pattern, for the response side of libforceclose.so (tests/readers.bats).
 *
 * usage: reader MODE [options] 127.0.0.1:PORT
 *
 * MODE (the read call used for every byte of every response):
 *   --bytewise   read() of one byte at a time
 *   --readv1     readv() with 64 one-byte iovecs (filled in reverse memory
 *                order, so a byte scattered to the wrong iovec shows)
 *   --peek1      a one-byte recv(MSG_PEEK) before every read(); the peeked
 *                byte must equal the first byte the read returns (read
 *                sizes cycle through 1..4096)
 *   --epoll-et   non-blocking socket, edge-triggered epoll, read() with a
 *                4 KiB buffer until EAGAIN before every epoll_wait()
 *   --recv       recv() into 16 KiB
 *   --big        read() into 64 KiB
 *   --readv-sparse  readv() with 64 empty iovecs followed by one of 4 KiB
 *   --recvmsg    recvmsg() with two iovecs (100 bytes, then 4 KiB)
 *
 * It connects, sends --count requests one after the other ("GET TARGET
 * HTTP/1.1" with "Connection: keep-alive"), parses every response itself
 * (interim 1xx heads, status line, fields, Content-Length, chunked with
 * extensions and trailers, or close-delimited), verifies each body against
 * the recording server's deterministic pattern, prints one line per response
 * with its Connection field, and behaves like a simple client: when the
 * response says "close" (or EOF follows it) it checks that one more read
 * returns 0 (the teardown; bounded by --guard), closes the socket
 * (close() must return 0) and connects again for the next request;
 * otherwise it reuses the connection.  At the end it prints
 *
 *   summary mode=M requests_ok=N bodies_verified=N connections=N
 *           reused=N close_responses=N eof_after_teardown=N
 *           after_checks_ok=N open_sockets=N max_open_sockets=N errors=N
 *
 * (one line) and exits 1 on any mismatch, 3 on timeout.  open_sockets counts
 * "socket:" links in /proc/self/fd.
 *
 * Options:
 *   --count N         requests (default 5)
 *   --sizes LIST      body sizes, comma separated, cycled (default
 *                     0,1,4095,70000,1048576)
 *   --kind K          target form: plain /size/N (default), chunked
 *                     /chunked/size/N, ka /ka/size/N, hints /hints/2/size/N,
 *                     http11close /http11-close/size/N (server closes)
 *   --never-close     every request on a NEW socket; close() is never
 *                     called on any of them (for FORCECLOSE_ACTION=close)
 *   --after-checks    after each teardown: write() must fail with EPIPE
 *                     (SIGPIPE is left at its default, so a signal kills the
 *                     process), read() must return 0 again, then close() 0
 *   --fd-alive        after each teardown, before closing: the descriptor
 *                     must still be open in the kernel (/proc/self/fd/N is
 *                     a socket) - what FORCECLOSE_ACTION=shutdown promises
 *   --fd-gone         after each teardown: /proc/self/fd/N must not be a
 *                     socket any more (FORCECLOSE_ACTION=close closing at
 *                     once, without a deferral window)
 *   --torn-in-read    every close response must have been torn down inside
 *                     the read that delivered its last byte: the kernel's
 *                     TCP state of the socket (getsockopt TCP_INFO, which
 *                     the library does not hook), taken right after that
 *                     read returned and before any other call on the
 *                     socket, is past ESTABLISHED/CLOSE_WAIT (the client
 *                     has shut down).  Prints "torn_in_read=N of M"
 *   --probe-after     after each teardown print what poll(), fcntl(F_GETFD),
 *                     getsockopt(SO_ERROR) and (epoll-et) epoll_ctl MOD/DEL
 *                     say (information only)
 *   --no-eof-check    on a close response just close(), no extra read (for
 *                     FORCECLOSE_ACTION=none, where nothing tears down)
 *   --ignore-close    a broken client: keep using the connection even when
 *                     the response says close (only EOF ends it); with
 *                     FORCECLOSE_ACTION=none the shim must then track every
 *                     later response on the same connection
 *   --close-lag K     close each finished connection only after K more
 *                     connections have been opened (a pool that opens
 *                     replacements first, or closes in batches); prints
 *                     "reuse" when a new socket got the number of one the
 *                     program has yet to close.  --connect-before-close is
 *                     --close-lag 1
 *   --expect-close    every final response must carry the "close" token and
 *                     no keep-alive / Keep-Alive, and (unless --no-eof-check
 *                     or --ignore-close) be followed by EOF, one connection
 *                     per request
 *   --expect-reuse    one connection for all requests; no response may say
 *                     close (unless --ignore-close)
 *   --max-sockets N   fail if open_sockets at the end exceeds N
 *   --min-sockets N   fail if open_sockets at the end is below N
 *   --heads FILE      append every response head (interim and final),
 *                     verbatim and concatenated (tests/lib/resp_check.py)
 *   --linger S        at the end, print the summary, then sleep S seconds
 *                     (or until SIGUSR1) before exiting, idle connections
 *                     and never-closed sockets left as they are, so a test
 *                     can look at them while the program still runs
 *   --read-size K     buffer size of the epoll-et, recv and big modes
 *                     (1..65536) instead of 4096 / 16384 / 65536
 *   --guard S         bound on the read that must return 0 after a close
 *                     response (default 10); blocking longer is reported
 *                     as a missing teardown
 *   --timeout S       overall alarm() bound (default 120)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char PATTERN[] = "0123456789abcdefghijklmnopqrstuvwxyz\n";
#define PLEN (sizeof PATTERN - 1)

enum mode { M_NONE, M_BYTEWISE, M_READV1, M_PEEK1, M_EPOLL_ET, M_RECV, M_BIG,
            M_READV_SPARSE, M_RECVMSG };
static const char *mode_names[] = { "none", "bytewise", "readv1", "peek1",
                                    "epoll-et", "recv", "big", "readv-sparse",
                                    "recvmsg" };

static enum mode mode;
static unsigned long count = 5;
static unsigned long sizes[64];
static size_t nsizes;
static const char *kind = "plain";
static int never_close, after_checks, fd_alive, fd_gone, probe_after;
static int no_eof_check, expect_close, expect_reuse, ignore_close;
static int torn_in_read, state_after_read = -1;
static unsigned long n_torn, n_torn_checked;
/* --close-lag: connections done but not closed yet, each closed once
 * `left` more connections have been opened */
static unsigned close_lag;
static struct { int fd; unsigned left; } pending[256];
static unsigned npending;
static long max_sockets = -1, min_sockets = -1;
static FILE *heads_file;
static unsigned linger_s;
static unsigned timeout_s = 120;
static unsigned guard_s = 10;
static struct sockaddr_in server;

/* counters for the summary */
static unsigned long n_ok, n_verified, n_conns, n_reused, n_close_resp;
static unsigned long n_eof_after, n_after_ok, n_errors;
static long max_open_sockets;

/* ------------------------------------------------------------------ */
/* bounds: a global deadline (alarm, exit 3) and a short guard for the one
 * read that must return 0 after a teardown (EINTR when it blocks) */

static char status_line[512] = "starting";
static volatile sig_atomic_t in_guard, guard_fired, linger_done;

static void on_usr1(int sig)
{
    (void)sig;
    linger_done = 1;
}
static struct timespec t_start;

static void on_alarm(int sig)
{
    (void)sig;
    if (in_guard) {
        guard_fired = 1;
        return;
    }
    static const char m[] = "reader: timeout while: ";
    if (write(2, m, sizeof m - 1)) {}
    if (write(2, status_line, strlen(status_line))) {}
    if (write(2, "\n", 1)) {}
    _exit(3);
}

static void set_status(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(status_line, sizeof status_line, fmt, ap);
    va_end(ap);
}

static unsigned remaining_s(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = (long)timeout_s - (long)(now.tv_sec - t_start.tv_sec);
    return left < 1 ? 1 : (unsigned)left;
}

static void guard_begin(unsigned s)
{
    guard_fired = 0;
    in_guard = 1;
    unsigned left = remaining_s();
    alarm(s < left ? s : left);
}

static void guard_end(void)
{
    in_guard = 0;
    alarm(remaining_s());
}

static void fail(const char *fmt, ...)
{
    va_list ap;
    char msg[600];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("ERROR %s\n", msg);
    fflush(stdout);
    n_errors++;
}

static void usage(void)
{
    fprintf(stderr,
"usage: reader --bytewise|--readv1|--peek1|--epoll-et|--recv|--big|--readv-sparse|--recvmsg\n"
"              [--count N] [--sizes A,B,...] [--kind plain|chunked|ka|hints|http11close]\n"
"              [--never-close] [--after-checks] [--fd-alive|--fd-gone] [--probe-after]\n"
"              [--no-eof-check] [--ignore-close] [--close-lag K] [--torn-in-read]\n"
"              [--expect-close] [--expect-reuse]\n"
"              [--max-sockets N] [--min-sockets N] [--heads FILE]\n"
"              [--read-size K] [--linger S] [--guard S] [--timeout S] 127.0.0.1:PORT\n");
    exit(2);
}

/* ------------------------------------------------------------------ */

static long count_sockets(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;
    char path[64], link[128];

    if (d == NULL) {
        perror("opendir /proc/self/fd");
        exit(1);
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%.20s", e->d_name);
        ssize_t k = readlink(path, link, sizeof link - 1);
        if (k <= 0)
            continue;
        link[k] = 0;
        if (strncmp(link, "socket:", 7) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static int fd_is_socket(int fd)
{
    char path[64], link[128];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(path, link, sizeof link - 1);
    if (k <= 0)
        return 0;
    link[k] = 0;
    return strncmp(link, "socket:", 7) == 0;
}

/* ------------------------------------------------------------------ */
/* the connection and its receive buffer */

#define RBUF (256 * 1024)
static unsigned char rbuf[RBUF];
static size_t rpos, rlen;
static int cfd = -1, epfd = -1;
static unsigned long conn_requests;   /* requests sent on cfd */
static unsigned long peek_cycle;

static void connect_new(void)
{
    set_status("connecting (connection %lu)", n_conns + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0) {
        perror("connect");
        exit(1);
    }
    if (mode == M_EPOLL_ET) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            perror("fcntl O_NONBLOCK");
            exit(1);
        }
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET,
                                  .data.fd = fd };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            perror("epoll_ctl ADD");
            exit(1);
        }
    }
    cfd = fd;
    rpos = rlen = 0;
    conn_requests = 0;
    n_conns++;
    long s = count_sockets();
    if (s > max_open_sockets)
        max_open_sockets = s;
}

/* the socket is given up (closed, or left open with --never-close) */
static void drop_conn(void)
{
    if (rlen > rpos)
        fail("%zu unread bytes buffered when leaving connection %lu",
             rlen - rpos, n_conns);
    cfd = -1;
    rpos = rlen = 0;
}

static void send_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(cfd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = { .fd = cfd, .events = POLLOUT };
            if (poll(&pf, 1, -1) < 0 && errno != EINTR) {
                perror("poll");
                exit(1);
            }
            continue;
        }
        if (w <= 0) {
            fail("write of the request failed: %s", w < 0 ? strerror(errno) : "0");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* One read step with the mode's call into rbuf + rlen (at most cap bytes
 * of room).  Returns >0 bytes, 0 at EOF, -1 with errno on error.  In
 * epoll-et mode EAGAIN is waited out with epoll_wait(). */
/* Read lengths the compiler cannot see as constants, into buffers whose
 * sizes it can: with -D_FORTIFY_SOURCE=2 these read()/recv() calls become
 * __read_chk/__recv_chk (the entry points fortified programs use):
 * bytewise, peek1's read, big -> __read_chk; recv -> __recv_chk.  The
 * epoll-et mode reads straight into rbuf + offset and peek1's one-byte
 * MSG_PEEK has a constant length: those stay plain read() / recv(). */
size_t one_byte = 1, recv_size = 16384, big_size = 65536, et_size = 4096;
static unsigned char scratch[65536];

static ssize_t read_step(unsigned char *dst, size_t room_arg)
{
    volatile size_t vroom = room_arg;   /* hide the bound from the compiler */
    size_t room = vroom;
    ssize_t r;

    switch (mode) {
    case M_BYTEWISE: {
        unsigned char b[8];
        do r = read(cfd, b, one_byte); while (r < 0 && errno == EINTR && !in_guard);
        if (r == 1)
            dst[0] = b[0];
        return r;
    }
    case M_READV1: {
        /* iovec i points at iv[63 - i]: the bytes land in reverse memory
         * order and are gathered back in iovec order */
        unsigned char iv[64];
        struct iovec iov[64];
        size_t n = room < 64 ? room : 64, i;
        for (i = 0; i < n; i++) {
            iov[i].iov_base = &iv[63 - i];
            iov[i].iov_len = 1;
        }
        do r = readv(cfd, iov, (int)n); while (r < 0 && errno == EINTR && !in_guard);
        for (i = 0; r > 0 && i < (size_t)r; i++)
            dst[i] = iv[63 - i];
        return r;
    }
    case M_READV_SPARSE: {
        /* 64 empty iovecs, then one of up to 4 KiB: legal, and readv()
         * must fill the last one */
        struct iovec iov[65];
        size_t i;
        for (i = 0; i < 64; i++) {
            iov[i].iov_base = scratch;
            iov[i].iov_len = 0;
        }
        iov[64].iov_base = dst;
        iov[64].iov_len = room < 4096 ? room : 4096;
        do r = readv(cfd, iov, 65); while (r < 0 && errno == EINTR && !in_guard);
        return r;
    }
    case M_PEEK1: {
        static const size_t cyc[] = { 1, 2, 3, 5, 8, 13, 64, 511, 4096, 1 };
        unsigned char pk[8];
        ssize_t p;
        size_t want = cyc[peek_cycle++ % (sizeof cyc / sizeof cyc[0])];
        if (want > room)
            want = room;
        /* constant length: this one stays plain recv() */
        do p = recv(cfd, pk, 1, MSG_PEEK); while (p < 0 && errno == EINTR && !in_guard);
        if (p < 0)
            return -1;
        do r = read(cfd, scratch, want); while (r < 0 && errno == EINTR && !in_guard);
        if (p == 0 && r != 0)
            fail("recv(MSG_PEEK) returned 0 but the next read returned %zd", r);
        if (p == 1 && r <= 0)
            fail("recv(MSG_PEEK) saw byte 0x%02x but the next read returned %zd (%s)",
                 pk[0], r, r < 0 ? strerror(errno) : "EOF");
        if (p == 1 && r > 0 && scratch[0] != pk[0])
            fail("recv(MSG_PEEK) saw byte 0x%02x but read() returned 0x%02x first",
                 pk[0], scratch[0]);
        if (r > 0)
            memcpy(dst, scratch, (size_t)r);
        return r;
    }
    case M_EPOLL_ET:
        for (;;) {
            size_t n = room < et_size ? room : et_size;
            r = read(cfd, dst, n);
            if (r >= 0)
                return r;
            if (errno == EINTR && !in_guard)
                continue;
            if (errno != EAGAIN)
                return -1;
            struct epoll_event ev;
            int k = epoll_wait(epfd, &ev, 1, -1);
            if (k < 0 && errno == EINTR) {
                if (in_guard)
                    return -1;
                continue;
            }
            if (k < 0)
                return -1;
        }
    case M_RECV: {
        size_t n = room < recv_size ? room : recv_size;
        do r = recv(cfd, scratch, n, 0); while (r < 0 && errno == EINTR && !in_guard);
        if (r > 0)
            memcpy(dst, scratch, (size_t)r);
        return r;
    }
    case M_RECVMSG: {
        size_t n = room < 4196 ? room : 4196, a = n < 100 ? n : 100;
        struct iovec iov[2] = { { dst, a }, { dst + a, n - a } };
        struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
        do r = recvmsg(cfd, &m, 0); while (r < 0 && errno == EINTR && !in_guard);
        return r;
    }
    case M_BIG: {
        size_t n = room < big_size ? room : big_size;
        do r = read(cfd, scratch, n); while (r < 0 && errno == EINTR && !in_guard);
        if (r > 0)
            memcpy(dst, scratch, (size_t)r);
        return r;
    }
    default:
        usage();
    }
    return -1;
}

/* More bytes into rbuf.  Returns bytes added, 0 at EOF; exits on error. */
static size_t fill(void)
{
    if (rpos == rlen)
        rpos = rlen = 0;
    if (RBUF - rlen < 65536 && rpos > 0) {
        memmove(rbuf, rbuf + rpos, rlen - rpos);
        rlen -= rpos;
        rpos = 0;
    }
    if (RBUF - rlen < 65536) {
        fail("response head larger than the buffer");
        exit(1);
    }
    ssize_t r = read_step(rbuf + rlen, 65536);
    if (torn_in_read && r > 0) {
        /* the kernel's view, before any other call on the socket */
        struct tcp_info ti;
        socklen_t tl = sizeof ti;
        state_after_read = getsockopt(cfd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 ?
                           ti.tcpi_state : -1;
    }
    if (r < 0) {
        fail("%s read failed: %s (while: %s)", mode_names[mode], strerror(errno),
             status_line);
        exit(1);
    }
    rlen += (size_t)r;
    return (size_t)r;
}

/* ------------------------------------------------------------------ */
/* response parsing */

struct head {
    int status;
    char version[16];
    char connection[512];   /* Connection values joined with ", " */
    int n_connection;       /* Connection field lines */
    int keep_alive_field;   /* Keep-Alive field lines */
    int has_cl, n_cl;
    unsigned long long cl;
    char te[128];
    char trailer_two[64];
};

static int has_token(const char *list, const char *tok)
{
    const char *p = list;
    size_t tl = strlen(tok);
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - s) == tl && strncasecmp(s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

static void append(char *dst, size_t cap, const char *src, size_t n)
{
    size_t l = strlen(dst);
    if (l && l + 2 < cap) {
        strcpy(dst + l, ", ");
        l += 2;
    }
    if (n > cap - 1 - l)
        n = cap - 1 - l;
    memcpy(dst + l, src, n);
    dst[l + n] = 0;
}

/* Reads one head (up to and including the empty line) from the stream and
 * parses it.  Returns 0, or -1 at EOF before any byte of it. */
static int read_head(struct head *h, unsigned long req, int index)
{
    size_t end = 0;
    for (;;) {
        unsigned char *b = rbuf + rpos;
        size_t n = rlen - rpos, i;
        for (i = 0; i < n; i++) {
            if (b[i] != '\n')
                continue;
            if (i >= 1 && b[i - 1] == '\n') {
                end = i + 1;
                break;
            }
            if (i >= 2 && b[i - 1] == '\r' && b[i - 2] == '\n') {
                end = i + 1;
                break;
            }
        }
        if (end)
            break;
        if (n > 65536) {
            fail("response %lu: head over 64 KiB", req);
            exit(1);
        }
        if (fill() == 0) {
            if (rlen == rpos)
                return -1;
            fail("response %lu: EOF inside the head after %zu bytes", req, rlen - rpos);
            exit(1);
        }
    }
    char *head = malloc(end + 1);
    if (!head) {
        perror("malloc");
        exit(1);
    }
    memcpy(head, rbuf + rpos, end);
    head[end] = 0;
    rpos += end;
    if (heads_file) {
        (void)index;
        fwrite(head, 1, end, heads_file);
        fflush(heads_file);
    }

    memset(h, 0, sizeof *h);
    char *line = head, *nl;
    int first = 1;
    while ((nl = strchr(line, '\n')) != NULL) {
        size_t ll = (size_t)(nl - line);
        if (ll && line[ll - 1] == '\r')
            ll--;
        line[ll] = 0;
        if (ll == 0)
            break;
        if (first) {
            char reason[8];
            if (sscanf(line, "%15s %d%7s", h->version, &h->status, reason) < 2 ||
                strncmp(h->version, "HTTP/1.", 7) != 0) {
                fail("response %lu: bad status line \"%s\"", req, line);
                exit(1);
            }
            first = 0;
        } else {
            char *colon = strchr(line, ':');
            if (!colon) {
                fail("response %lu: field without colon \"%s\"", req, line);
                exit(1);
            }
            *colon = 0;
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = strlen(v);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                v[--vl] = 0;
            if (strcasecmp(line, "Connection") == 0) {
                append(h->connection, sizeof h->connection, v, vl);
                h->n_connection++;
            } else if (strcasecmp(line, "Keep-Alive") == 0) {
                h->keep_alive_field++;
            } else if (strcasecmp(line, "Content-Length") == 0) {
                char *e;
                errno = 0;
                unsigned long long x = strtoull(v, &e, 10);
                if (!isdigit((unsigned char)*v) || *e || errno) {
                    fail("response %lu: bad Content-Length \"%s\"", req, v);
                    exit(1);
                }
                if (h->has_cl && x != h->cl) {
                    fail("response %lu: two Content-Length values", req);
                    exit(1);
                }
                h->has_cl = 1;
                h->n_cl++;
                h->cl = x;
            } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
                append(h->te, sizeof h->te, v, vl);
            }
        }
        line = nl + 1;
    }
    free(head);
    return 0;
}

/* body verification state */
static unsigned long long body_off;
static long long first_bad = -1;

static void verify(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++, body_off++)
        if (p[i] != (unsigned char)PATTERN[body_off % PLEN] && first_bad < 0)
            first_bad = (long long)body_off;
}

/* n body bytes from the stream */
static void body_bytes(unsigned long long n, unsigned long req)
{
    while (n > 0) {
        if (rpos == rlen && fill() == 0) {
            fail("response %lu: EOF with %llu body bytes missing", req, n);
            exit(1);
        }
        size_t k = rlen - rpos;
        if (k > n)
            k = (size_t)n;
        verify(rbuf + rpos, k);
        rpos += k;
        n -= k;
    }
}

/* one line (without its line ending) into out; exits on EOF */
static void get_line(char *out, size_t cap, unsigned long req, const char *what)
{
    for (;;) {
        unsigned char *nl = memchr(rbuf + rpos, '\n', rlen - rpos);
        if (nl) {
            size_t l = (size_t)(nl - (rbuf + rpos));
            size_t c = l;
            if (c && rbuf[rpos + c - 1] == '\r')
                c--;
            if (c >= cap) {
                fail("response %lu: %s line too long", req, what);
                exit(1);
            }
            memcpy(out, rbuf + rpos, c);
            out[c] = 0;
            rpos += l + 1;
            return;
        }
        if (rlen - rpos > 4096) {
            fail("response %lu: %s line too long", req, what);
            exit(1);
        }
        if (fill() == 0) {
            fail("response %lu: EOF in a %s line", req, what);
            exit(1);
        }
    }
}

static void chunked_body(struct head *h, unsigned long req)
{
    char line[4200];
    for (;;) {
        get_line(line, sizeof line, req, "chunk-size");
        char *e;
        errno = 0;
        unsigned long long n = strtoull(line, &e, 16);
        if (e == line || errno || (*e && *e != ';' && *e != ' ' && *e != '\t')) {
            fail("response %lu: bad chunk-size line \"%s\"", req, line);
            exit(1);
        }
        if (n == 0)
            break;
        body_bytes(n, req);
        get_line(line, sizeof line, req, "chunk-end");
        if (line[0]) {
            fail("response %lu: chunk data not followed by CRLF", req);
            exit(1);
        }
    }
    for (;;) {   /* trailer section */
        get_line(line, sizeof line, req, "trailer");
        if (!line[0])
            break;
        if (strncasecmp(line, "X-Trailer-Two:", 14) == 0) {
            char *v = line + 14;
            while (*v == ' ')
                v++;
            snprintf(h->trailer_two, sizeof h->trailer_two, "%.60s", v);
        }
    }
}

/* ------------------------------------------------------------------ */

static void probe(int fd, unsigned long req)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN | POLLOUT };
    int pr = poll(&pf, 1, 0);
    int fl = fcntl(fd, F_GETFD);
    int fe = fl < 0 ? errno : 0;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    int gr = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    int ge = gr < 0 ? errno : 0;
    printf("probe %lu: poll=%d revents=0x%x fcntl(F_GETFD)=%d%s%s "
           "getsockopt(SO_ERROR)=%d%s%s kernel_fd_is_socket=%d",
           req, pr, pr > 0 ? pf.revents : 0, fl, fe ? " " : "",
           fe ? strerrorname_np(fe) : "", gr, ge ? " " : "",
           ge ? strerrorname_np(ge) : "", fd_is_socket(fd));
    if (mode == M_EPOLL_ET) {
        /* what an event loop does next: re-arm, or deregister before close */
        struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = fd };
        int mr = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
        int me = mr < 0 ? errno : 0;
        int dr = epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
        int de = dr < 0 ? errno : 0;
        printf(" epoll_ctl(MOD)=%d%s%s epoll_ctl(DEL)=%d%s%s", mr, me ? " " : "",
               me ? strerrorname_np(me) : "", dr, de ? " " : "",
               de ? strerrorname_np(de) : "");
    }
    printf("\n");
}

/* the read that must return 0 once the connection is torn down; the
 * --guard bound turns a missing teardown into a clear error, not a hang */
static int read_after(unsigned long req, const char *what)
{
    unsigned char tmp[8];
    ssize_t r;

    set_status("response %lu: %s read after the response", req, what);
    guard_begin(guard_s);
    if (mode == M_EPOLL_ET) {
        for (;;) {
            r = read(cfd, tmp, sizeof tmp);
            if (r >= 0 || errno != EAGAIN)
                break;
            struct epoll_event ev;
            int k = epoll_wait(epfd, &ev, 1, (int)guard_s * 1000);
            if (k == 0 || (k < 0 && guard_fired)) {
                errno = ETIMEDOUT;
                r = -1;
                break;
            }
        }
    } else {
        r = read_step(tmp, sizeof tmp);
    }
    int e = errno;
    guard_end();
    if (r == 0)
        return 0;
    if (r > 0)
        fail("response %lu: %s read after the response returned %zd bytes, not EOF",
             req, what, r);
    else if (guard_fired || e == ETIMEDOUT)
        fail("response %lu: %s read after the response still blocked after %u s: "
             "the connection was not torn down", req, what, guard_s);
    else
        fail("response %lu: %s read after the response failed: %s", req, what,
             strerror(e));
    return -1;
}

/* epoll-et: read until EAGAIN after the response, as an edge-triggered
 * loop must.  Returns 1 if EOF was seen, 0 on EAGAIN. */
static int et_drain(unsigned long req)
{
    unsigned char tmp[4096];
    for (;;) {
        ssize_t r = read(cfd, tmp, sizeof tmp);
        if (r == 0)
            return 1;
        if (r > 0) {
            fail("response %lu: %zd unexpected bytes after the response", req, r);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return 0;
        fail("response %lu: read after the response failed: %s", req, strerror(errno));
        return 0;
    }
}

/* the program closes a socket it is done with; close() must return 0 */
static int program_close(int fd, unsigned long req)
{
    errno = 0;
    int c = close(fd);
    int e = errno;
    if (c != 0) {
        fail("response %lu: close(%d) returned %d errno=%s", req, fd, c,
             e ? strerrorname_np(e) : "0");
        return -1;
    }
    return 0;
}

/* done with the connection: close it now, or with --connect-before-close
 * after the next connection has been opened */
static int finish_conn(unsigned long req)
{
    int r = 0;
    if (close_lag) {
        pending[npending].fd = cfd;
        pending[npending].left = close_lag;
        npending++;
    } else
        r = program_close(cfd, req);
    drop_conn();
    return r;
}

static void target_for(char *out, size_t cap, unsigned long size)
{
    if (!strcmp(kind, "plain"))
        snprintf(out, cap, "/size/%lu", size);
    else if (!strcmp(kind, "chunked"))
        snprintf(out, cap, "/chunked/size/%lu", size);
    else if (!strcmp(kind, "ka"))
        snprintf(out, cap, "/ka/size/%lu", size);
    else if (!strcmp(kind, "hints"))
        snprintf(out, cap, "/hints/2/size/%lu", size);
    else if (!strcmp(kind, "http11close"))
        snprintf(out, cap, "/http11-close/size/%lu", size);
    else
        usage();
}

static void one_request(unsigned long req)
{
    unsigned long size = sizes[(req - 1) % nsizes];
    char target[128], reqbuf[512];
    struct head h;
    int index = 0, reused = 0;

    if (cfd < 0 || never_close) {
        connect_new();
        /* like a pool that opens replacements before it closes the dead
         * connections */
        unsigned j, k = 0;
        for (j = 0; j < npending; j++)
            if (pending[j].fd == cfd)
                printf("reuse %lu: the new connection got descriptor %d, the number "
                       "of an old one the program has yet to close\n", req, cfd);
        for (j = 0; j < npending; j++) {
            if (--pending[j].left == 0)
                (void)program_close(pending[j].fd, req);   /* counted by fail() */
            else
                pending[k++] = pending[j];
        }
        npending = k;
    } else {
        reused = 1;
    }
    if (reused)
        n_reused++;
    conn_requests++;
    target_for(target, sizeof target, size);
    int len = snprintf(reqbuf, sizeof reqbuf,
                       "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                       "User-Agent: forceclose-reader/%s\r\nAccept: */*\r\n"
                       "Connection: keep-alive\r\n\r\n",
                       target, ntohs(server.sin_port), mode_names[mode]);
    set_status("response %lu: sending %s", req, target);
    send_all(reqbuf, (size_t)len);

    /* interim heads, then the final one */
    for (;;) {
        set_status("response %lu: reading head %d (%zu bytes buffered)", req, index,
                   rlen - rpos);
        if (read_head(&h, req, index) < 0) {
            fail("response %lu: EOF before the response (connection %lu, its "
                 "request %lu)", req, n_conns, conn_requests);
            exit(1);
        }
        index++;
        if (h.status >= 100 && h.status < 200 && h.status != 101) {
            printf("interim %lu: status=%d connection=\"%s\" keep_alive_field=%d\n",
                   req, h.status, h.n_connection ? h.connection : "-",
                   h.keep_alive_field);
            continue;
        }
        break;
    }

    body_off = 0;
    first_bad = -1;
    const char *framing;
    int eof_in_body = 0;
    set_status("response %lu: reading the %lu-byte body", req, size);
    if (h.status == 204 || h.status == 304) {
        framing = "none";
    } else if (h.te[0]) {
        if (!has_token(h.te, "chunked")) {
            fail("response %lu: Transfer-Encoding \"%s\" without chunked", req, h.te);
            exit(1);
        }
        framing = "chunked";
        chunked_body(&h, req);
        if (strcmp(h.trailer_two, "done") != 0)
            fail("response %lu: trailer X-Trailer-Two missing or wrong (\"%s\")", req,
                 h.trailer_two);
    } else if (h.has_cl) {
        framing = "length";
        body_bytes(h.cl, req);
    } else {
        framing = "close-delimited";
        while (1) {
            if (rpos == rlen && fill() == 0)
                break;
            verify(rbuf + rpos, rlen - rpos);
            rpos = rlen;
        }
        eof_in_body = 1;
    }

    int ok = 1;
    if (h.status != 200) {
        fail("response %lu: status %d", req, h.status);
        ok = 0;
    }
    if (body_off != size) {
        fail("response %lu: body is %llu bytes, expected %lu", req, body_off, size);
        ok = 0;
    }
    if (first_bad >= 0) {
        fail("response %lu: body differs from the pattern at offset %lld", req, first_bad);
        ok = 0;
    }
    if (rlen > rpos) {
        fail("response %lu: %zu unexpected bytes after the response", req, rlen - rpos);
        ok = 0;
        rpos = rlen;
    }
    if (ok)
        n_verified++;

    int says_close = h.n_connection && has_token(h.connection, "close");
    int says_ka = h.n_connection && has_token(h.connection, "keep-alive");
    if (says_close)
        n_close_resp++;
    printf("response %lu: conn=%lu reused=%d status=%d framing=%s body=%lu %s "
           "connection=\"%s\" keep_alive_field=%d interim=%d\n",
           req, n_conns, reused, h.status, framing, size, ok ? "verified" : "BAD",
           h.n_connection ? h.connection : "-", h.keep_alive_field, index - 1);
    if (expect_close && (!says_close || says_ka || h.keep_alive_field)) {
        fail("response %lu: expected Connection: close only, got connection=\"%s\" "
             "keep_alive_field=%d", req, h.n_connection ? h.connection : "-",
             h.keep_alive_field);
        ok = 0;
    }
    if (expect_reuse && says_close && !ignore_close) {
        fail("response %lu: says close, expected keep-alive", req);
        ok = 0;
    }

    if (torn_in_read && says_close && !ignore_close) {
        n_torn_checked++;
        if (state_after_read == TCP_ESTABLISHED || state_after_read == TCP_CLOSE_WAIT ||
            state_after_read < 0) {
            fail("response %lu: still connected (TCP state %d) right after the read that "
                 "delivered its last byte", req, state_after_read);
            ok = 0;
        } else {
            n_torn++;
        }
    }

    /* what a simple client does next */
    int eof = eof_in_body;
    if (mode == M_EPOLL_ET && !eof)
        eof = et_drain(req);
    int eof_checked = 0;
    if (ignore_close)
        says_close = 0;   /* from here on the client does not care */
    if ((says_close || eof) && !no_eof_check) {
        /* the teardown: one more read returns 0 */
        if (read_after(req, eof ? "second" : "first") == 0) {
            n_eof_after++;
            eof_checked = 1;
        } else {
            ok = 0;
        }
    }
    if (expect_close && !eof_checked && !no_eof_check && !ignore_close) {
        fail("response %lu: no EOF after the response", req);
        ok = 0;
    }
    if (eof_checked && probe_after)
        probe(cfd, req);
    if (eof_checked && fd_alive && !fd_is_socket(cfd)) {
        fail("response %lu: descriptor %d is no longer open in the kernel after the "
             "teardown", req, cfd);
        ok = 0;
    }
    if (eof_checked && fd_gone && fd_is_socket(cfd)) {
        fail("response %lu: descriptor %d is still an open socket after the teardown",
             req, cfd);
        ok = 0;
    }
    if (eof_checked && after_checks) {
        int a_ok = 1;
        set_status("response %lu: after-teardown checks", req);
        errno = 0;
        ssize_t w = write(cfd, "GET / HTTP/1.1\r\n\r\n", 18);
        int e = errno;
        if (w != -1 || e != EPIPE) {
            fail("response %lu: write() after the teardown returned %zd errno=%s, "
                 "expected -1 EPIPE", req, w, e ? strerrorname_np(e) : "0");
            a_ok = 0;
        }
        if (read_after(req, "post-write") != 0)
            a_ok = 0;
        if (!never_close && finish_conn(req) != 0)
            a_ok = 0;
        if (a_ok)
            n_after_ok++;
        else
            ok = 0;
        printf("after %lu: write=-1/EPIPE read=0 close=%s %s\n", req,
               never_close ? "skipped" : close_lag ? "later" : "0",
               a_ok ? "ok" : "BAD");
    } else if (says_close || eof) {
        if (!never_close && finish_conn(req) != 0)
            ok = 0;
        drop_conn();   /* (never_close: the socket is left open) */
    }
    if (never_close && cfd >= 0)
        drop_conn();   /* left open on purpose: the next request connects anew */
    long s = count_sockets();
    if (s > max_open_sockets)
        max_open_sockets = s;
    if (ok)
        n_ok++;
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--bytewise")) mode = M_BYTEWISE;
        else if (!strcmp(a, "--readv1")) mode = M_READV1;
        else if (!strcmp(a, "--peek1")) mode = M_PEEK1;
        else if (!strcmp(a, "--epoll-et")) mode = M_EPOLL_ET;
        else if (!strcmp(a, "--recv")) mode = M_RECV;
        else if (!strcmp(a, "--big")) mode = M_BIG;
        else if (!strcmp(a, "--readv-sparse")) mode = M_READV_SPARSE;
        else if (!strcmp(a, "--recvmsg")) mode = M_RECVMSG;
        else if (!strcmp(a, "--torn-in-read")) torn_in_read = 1;
        else if (!strcmp(a, "--count") && i + 1 < argc) count = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--sizes") && i + 1 < argc) {
            char *s = argv[++i], *e;
            nsizes = 0;
            while (*s && nsizes < sizeof sizes / sizeof sizes[0]) {
                sizes[nsizes++] = strtoul(s, &e, 10);
                if (e == s) usage();
                s = *e == ',' ? e + 1 : e;
            }
        }
        else if (!strcmp(a, "--kind") && i + 1 < argc) kind = argv[++i];
        else if (!strcmp(a, "--never-close")) never_close = 1;
        else if (!strcmp(a, "--after-checks")) after_checks = 1;
        else if (!strcmp(a, "--fd-alive")) fd_alive = 1;
        else if (!strcmp(a, "--fd-gone")) fd_gone = 1;
        else if (!strcmp(a, "--probe-after")) probe_after = 1;
        else if (!strcmp(a, "--no-eof-check")) no_eof_check = 1;
        else if (!strcmp(a, "--expect-close")) expect_close = 1;
        else if (!strcmp(a, "--ignore-close")) ignore_close = 1;
        else if (!strcmp(a, "--connect-before-close")) close_lag = 1;
        else if (!strcmp(a, "--close-lag") && i + 1 < argc) {
            close_lag = (unsigned)atoi(argv[++i]);
            if (close_lag > 200) usage();
        }
        else if (!strcmp(a, "--expect-reuse")) expect_reuse = 1;
        else if (!strcmp(a, "--max-sockets") && i + 1 < argc) max_sockets = atol(argv[++i]);
        else if (!strcmp(a, "--min-sockets") && i + 1 < argc) min_sockets = atol(argv[++i]);
        else if (!strcmp(a, "--heads") && i + 1 < argc) {
            heads_file = fopen(argv[++i], "a");
            if (!heads_file) { perror("--heads"); exit(2); }
        }
        else if (!strcmp(a, "--linger") && i + 1 < argc) linger_s = (unsigned)atoi(argv[++i]);
        else if (!strcmp(a, "--timeout") && i + 1 < argc) timeout_s = (unsigned)atoi(argv[++i]);
        else if (!strcmp(a, "--read-size") && i + 1 < argc) {
            size_t k = strtoul(argv[++i], NULL, 10);
            if (k < 1 || k > 65536) usage();
            recv_size = big_size = et_size = k;
        }
        else if (!strcmp(a, "--guard") && i + 1 < argc) guard_s = (unsigned)atoi(argv[++i]);
        else if (a[0] == '-') usage();
        else if (!addr) addr = a;
        else usage();
    }
    if (mode == M_NONE || !addr || count == 0)
        usage();
    if (nsizes == 0) {
        static const unsigned long def[] = { 0, 1, 4095, 70000, 1048576 };
        memcpy(sizes, def, sizeof def);
        nsizes = 5;
    }
    const char *colon = strrchr(addr, ':');
    if (!colon || strncmp(addr, "127.0.0.1:", 10) != 0)
        usage();
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons((unsigned short)atoi(colon + 1));
    inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);

    /* SIGPIPE stays at its default: a write the shim refuses must not
     * raise it, and if it did the process would die of it */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;   /* no SA_RESTART: a guarded read gets EINTR */
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    alarm(timeout_s);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (mode == M_EPOLL_ET) {
        epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0) { perror("epoll_create1"); exit(1); }
    }
    unsigned long r;
    for (r = 1; r <= count; r++)
        one_request(r);

    for (unsigned j = 0; j < npending; j++)
        (void)program_close(pending[j].fd, count);
    long open_now = count_sockets();
    if (open_now > max_open_sockets)
        max_open_sockets = open_now;
    if (max_sockets >= 0 && open_now > max_sockets)
        fail("%ld sockets open at the end, at most %ld expected", open_now, max_sockets);
    if (min_sockets >= 0 && open_now < min_sockets)
        fail("%ld sockets open at the end, at least %ld expected", open_now, min_sockets);
    if (expect_reuse && n_conns != 1)
        fail("%lu connections used, expected 1 (reuse)", n_conns);
    if (expect_close && !ignore_close && n_conns != count)
        fail("%lu connections used for %lu requests, expected one each", n_conns, count);
    printf("summary mode=%s requests=%lu requests_ok=%lu bodies_verified=%lu "
           "connections=%lu reused=%lu close_responses=%lu eof_after_teardown=%lu "
           "after_checks_ok=%lu open_sockets=%ld max_open_sockets=%ld errors=%lu\n",
           mode_names[mode], count, n_ok, n_verified, n_conns, n_reused, n_close_resp,
           n_eof_after, n_after_ok, open_now, max_open_sockets, n_errors);
    if (torn_in_read)
        printf("torn_in_read=%lu of %lu\n", n_torn, n_torn_checked);
    fflush(stdout);
    if (linger_s) {
        set_status("lingering");
        alarm(0);
        unsigned left = linger_s;
        while (left-- > 0 && !linger_done)
            sleep(1);   /* a SIGUSR1 cuts it short */
        printf("linger %s\n", linger_done ? "ended by SIGUSR1" : "timed out");
    }
    return n_errors || n_ok != count ? 1 : 0;
}
