/* eintr_writer: write large HTTP requests on a BLOCKING socket with a small
 * SO_SNDBUF while setitimer(ITIMER_REAL) fires SIGALRM every ~1 ms into a
 * handler installed WITHOUT SA_RESTART.  Blocked writes therefore return
 * early: -1/EINTR when nothing was sent, a short count otherwise.  The
 * program retries exactly like a careful program (same bytes after EINTR,
 * the remainder after a short write) and checks every return value:
 * never more than asked, never 0, -1 only with EINTR.
 *
 * The request stream is the same as nonblock_writer's (same --count/--body
 * gives the same bytes).  After writing it stops the timer and reads one
 * response per request (unless --no-read).
 *
 * Because ITIMER_REAL is busy, the overall time bound is a watchdog thread
 * (SIGALRM blocked in it) instead of alarm().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr,
"usage: eintr_writer [options] ADDR\n"
"  ADDR  127.0.0.1:PORT | [::1]:PORT | unix:PATH\n"
"  --sndbuf N       SO_SNDBUF before connect (default 4096)\n"
"  --count N        number of POST requests (default 3); a GET without a\n"
"                   body always follows them\n"
"  --body BYTES     body size of each request (default 1048576)\n"
"  --chunk K        bytes per call; 0 = varying 1..262144 (default 0)\n"
"  --call write|send|sendto|writev|sendmsg   (default write)\n"
"  --interval-us U  SIGALRM period (default 1000)\n"
"  --no-read        do not read responses\n"
"  --dump FILE      write the intended byte stream to FILE\n"
"  --dry-run        only --dump\n"
"  --timeout S      watchdog bound (default 60)\n"
"prints a stats line: calls= eintr= short= signals= bytes=\n");
    exit(2);
}

/* ---- request stream: identical to nonblock_writer's ---- */

static unsigned char body_byte(unsigned req, size_t j)
{
    uint32_t x = (uint32_t)j * 2654435761u ^ (req * 0x9e3779b9u);
    x ^= x >> 15;
    return (unsigned char)(x * 31u + (j >> 9));
}

static const char TRICKY[] =
    "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nGET /x HTTP/1.1\r\n\r\n";

static unsigned char *build_stream(unsigned count, size_t body, size_t *len)
{
    size_t cap = (size_t)(count + 1) * (body + 512) + 1;
    unsigned char *s = malloc(cap);
    if (!s) { perror("malloc"); exit(1); }
    size_t o = 0;
    for (unsigned i = 0; i < count; i++) {
        const char *conn;
        switch (i % 4) {
        case 0: conn = ""; break;
        case 1: conn = "Connection: keep-alive\r\n"; break;
        case 2: conn = "Connection: TE, keep-alive\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"; break;
        default: conn = "Proxy-Connection: keep-alive\r\n"; break;
        }
        o += (size_t)sprintf((char *)s + o,
                "POST /upload/%u HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
                "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n\r\n",
                i, conn, body);
        for (size_t j = 0; j < body; j++) s[o + j] = body_byte(i, j);
        if (body >= 2 * sizeof TRICKY) {
            memcpy(s + o, TRICKY, sizeof TRICKY - 1);
            memcpy(s + o + body - (sizeof TRICKY - 1), TRICKY, sizeof TRICKY - 1);
        }
        o += body;
    }
    /* a last request without a body: its head is the program's final write
     * (with a full send buffer, a shim that kept rewritten bytes owed but
     * reported them as sent would leave this request unfinished forever) */
    o += (size_t)sprintf((char *)s + o,
            "GET /tail HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n");
    *len = o;
    return s;
}

static int connect_addr(const char *addr, int sndbuf)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (!strncmp(addr, "unix:", 5)) {
        struct sockaddr_un *su = (struct sockaddr_un *)&ss;
        su->sun_family = AF_UNIX;
        if (strlen(addr + 5) >= sizeof su->sun_path) usage();
        strcpy(su->sun_path, addr + 5);
        sl = sizeof *su;
    } else {
        char host[128];
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof host) usage();
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = 0;
        char *h = host;
        size_t hl = strlen(h);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { h[hl - 1] = 0; h++; }
        int port = atoi(colon + 1);
        if (port <= 0 || port > 65535) usage();
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
            s4->sin_port = htons((unsigned short)port);
            sl = sizeof *s4;
        } else if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons((unsigned short)port);
            sl = sizeof *s6;
        } else usage();
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    if (sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0) {
        perror("SO_SNDBUF"); exit(1);
    }
    for (;;) {
        if (connect(fd, (struct sockaddr *)&ss, sl) == 0) break;
        if (errno == EINTR) continue;
        perror("connect");
        exit(1);
    }
    return fd;
}

static volatile sig_atomic_t g_signals;
static void on_alrm(int sig) { (void)sig; g_signals++; }

static unsigned g_timeout = 60;
static void *watchdog(void *arg)
{
    (void)arg;
    struct timespec ts = { .tv_sec = g_timeout, .tv_nsec = 0 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
    static const char m[] = "eintr_writer: timeout\n";
    if (write(2, m, sizeof m - 1)) {}
    _exit(3);
    return NULL;
}

enum call { C_WRITE, C_SEND, C_SENDTO, C_WRITEV, C_SENDMSG };

int main(int argc, char **argv)
{
    int sndbuf = 4096, do_read = 1, dry = 0;
    unsigned count = 3;
    long interval = 1000;
    size_t body = 1048576, chunk = 0;
    enum call call = C_WRITE;
    const char *dump = NULL;
    int i;
    for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--sndbuf") && i + 1 < argc) sndbuf = atoi(argv[++i]);
        else if (!strcmp(a, "--count") && i + 1 < argc) count = (unsigned)atoi(argv[++i]);
        else if (!strcmp(a, "--body") && i + 1 < argc) body = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--chunk") && i + 1 < argc) chunk = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--interval-us") && i + 1 < argc) interval = atol(argv[++i]);
        else if (!strcmp(a, "--call") && i + 1 < argc) {
            const char *c = argv[++i];
            if (!strcmp(c, "write")) call = C_WRITE;
            else if (!strcmp(c, "send")) call = C_SEND;
            else if (!strcmp(c, "sendto")) call = C_SENDTO;
            else if (!strcmp(c, "writev")) call = C_WRITEV;
            else if (!strcmp(c, "sendmsg")) call = C_SENDMSG;
            else usage();
        }
        else if (!strcmp(a, "--no-read")) do_read = 0;
        else if (!strcmp(a, "--dump") && i + 1 < argc) dump = argv[++i];
        else if (!strcmp(a, "--dry-run")) dry = 1;
        else if (!strcmp(a, "--timeout") && i + 1 < argc) g_timeout = (unsigned)atoi(argv[++i]);
        else usage();
    }
    if (count == 0 || interval <= 0) usage();

    size_t len;
    unsigned char *s = build_stream(count, body, &len);
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (!f || fwrite(s, 1, len, f) != len || fclose(f)) { perror(dump); return 1; }
    }
    if (dry) return 0;
    if (i + 1 != argc) usage();

    /* watchdog thread with SIGALRM blocked, so SIGALRM hits the writer */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_t th;
    if (pthread_create(&th, NULL, watchdog, NULL)) { fprintf(stderr, "pthread_create\n"); return 1; }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sa.sa_flags = 0;            /* no SA_RESTART: blocked calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);

    int fd = connect_addr(argv[i], sndbuf);

    struct itimerval it = { { 0, interval }, { 0, interval } };
    setitimer(ITIMER_REAL, &it, NULL);

    unsigned long calls = 0, eintr = 0, shorts = 0;
    uint32_t lcg = 777;
    size_t off = 0, want = 0;
    while (off < len) {
        if (want == 0) {
            if (chunk) want = chunk;
            else {
                lcg = lcg * 1103515245u + 12345u;
                want = 1 + (lcg >> 4) % 262144;
            }
            if (want > len - off) want = len - off;
        }
        ssize_t r;
        calls++;
        switch (call) {
        case C_WRITE: r = write(fd, s + off, want); break;
        case C_SEND: r = send(fd, s + off, want, MSG_NOSIGNAL); break;
        case C_SENDTO: r = sendto(fd, s + off, want, MSG_NOSIGNAL, NULL, 0); break;
        default: {
            struct iovec iov[3];
            size_t a = want / 3, b = want / 3;
            iov[0].iov_base = s + off;           iov[0].iov_len = a;
            iov[1].iov_base = s + off + a;       iov[1].iov_len = b;
            iov[2].iov_base = s + off + a + b;   iov[2].iov_len = want - a - b;
            if (call == C_WRITEV) r = writev(fd, iov, 3);
            else {
                struct msghdr m;
                memset(&m, 0, sizeof m);
                m.msg_iov = iov;
                m.msg_iovlen = 3;
                r = sendmsg(fd, &m, MSG_NOSIGNAL);
            }
        }
        }
        if (r < 0) {
            if (errno == EINTR) { eintr++; continue; }
            fprintf(stderr, "eintr_writer: call returned -1 errno %d (%s) at offset %zu\n",
                    errno, strerror(errno), off);
            return 1;
        }
        if (r == 0) {
            fprintf(stderr, "eintr_writer: call returned 0 for %zu bytes at %zu\n", want, off);
            return 1;
        }
        if ((size_t)r > want) {
            fprintf(stderr, "eintr_writer: call returned %zd > %zu asked at %zu\n", r, want, off);
            return 1;
        }
        if ((size_t)r < want) shorts++;
        off += (size_t)r;
        want -= (size_t)r;
    }
    struct itimerval stop = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &stop, NULL);
    fprintf(stderr, "eintr_writer: calls=%lu eintr=%lu short=%lu signals=%ld bytes=%zu\n",
            calls, eintr, shorts, (long)g_signals, len);
    printf("calls=%lu eintr=%lu short=%lu signals=%ld bytes=%zu\n",
           calls, eintr, shorts, (long)g_signals, len);
    fflush(stdout);

    if (do_read) {
        static unsigned char rb[1 << 16];
        size_t rl = 0;
        unsigned got = 0;
        while (got < count + 1) {
            unsigned char *e = memmem(rb, rl, "\r\n\r\n", 4);
            if (e) {
                size_t hend = (size_t)(e - rb) + 4, clen = 0;
                if (rl < 12 || memcmp(rb, "HTTP/1.", 7)) {
                    fprintf(stderr, "eintr_writer: bad response\n");
                    return 1;
                }
                for (size_t k = 0; k + 15 < hend; k++)
                    if ((k == 0 || rb[k - 1] == '\n') && !strncasecmp((char *)rb + k, "content-length:", 15))
                        clen = strtoul((char *)rb + k + 15, NULL, 10);
                if (hend + clen > sizeof rb) { fprintf(stderr, "response too big\n"); return 1; }
                if (rl >= hend + clen) {
                    if (memcmp(rb + 9, "200", 3)) {
                        fprintf(stderr, "eintr_writer: response %u: %.12s\n", got, (char *)rb);
                        return 1;
                    }
                    memmove(rb, rb + hend + clen, rl - hend - clen);
                    rl -= hend + clen;
                    got++;
                    continue;
                }
            }
            if (rl == sizeof rb) { fprintf(stderr, "response head too big\n"); return 1; }
            ssize_t r = read(fd, rb + rl, sizeof rb - rl);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) { perror("read"); return 1; }
            if (r == 0) {
                fprintf(stderr, "eintr_writer: EOF after %u of %u responses\n", got, count + 1);
                return 4;
            }
            rl += (size_t)r;
        }
        fprintf(stderr, "eintr_writer: got %u responses\n", got);
    } else {
        shutdown(fd, SHUT_WR);
    }
    close(fd);
    return 0;
}
