/* testlib.h: helpers shared by the test programs in tests/c/.
 *
 * Every program is compiled on its own (build/tests/NAME from NAME.c), so
 * the helpers are static functions in this header; TL_UNUSED keeps -Werror
 * quiet about the ones a program does not call.  Include it after defining
 * _GNU_SOURCE.  The programs' own names stay unprefixed; the helpers' are
 * tl_*.
 */
#ifndef FC_TESTLIB_H
#define FC_TESTLIB_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any #include"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define TL_UNUSED __attribute__((unused))

/* ---- bounds ---- */

static char tl_timeout_msg[64] TL_UNUSED;
static size_t tl_timeout_len TL_UNUSED;

static TL_UNUSED void tl_on_alarm(int sig)
{
    (void)sig;
    if (write(2, tl_timeout_msg, tl_timeout_len)) {}
    _exit(3);
}

/* after `seconds`, print "PROG: timeout" and _exit(3) */
static TL_UNUSED void tl_alarm(const char *prog, unsigned seconds)
{
    int n = snprintf(tl_timeout_msg, sizeof tl_timeout_msg, "%s: timeout\n", prog);
    tl_timeout_len = n < 0 ? 0 : (size_t)n < sizeof tl_timeout_msg ? (size_t)n
                                                                     : sizeof tl_timeout_msg - 1;
    signal(SIGALRM, tl_on_alarm);
    alarm(seconds);
}

/* ---- addresses and connecting ---- */

/* ADDR is 127.0.0.1:PORT, [::1]:PORT (numeric hosts only) or unix:PATH.
 * Fills *ss / *sl; -1 when ADDR is malformed or PORT is not in
 * min_port..65535. */
static TL_UNUSED int tl_parse_addr(const char *addr, struct sockaddr_storage *ss,
                                   socklen_t *sl, int min_port)
{
    memset(ss, 0, sizeof *ss);
    if (!strncmp(addr, "unix:", 5)) {
        struct sockaddr_un *su = (struct sockaddr_un *)ss;
        if (strlen(addr + 5) >= sizeof su->sun_path) return -1;
        su->sun_family = AF_UNIX;
        strcpy(su->sun_path, addr + 5);
        *sl = sizeof *su;
        return 0;
    }
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host) return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { h[hl - 1] = 0; h++; }
    int port = atoi(colon + 1);
    if (port < min_port || port > 65535) return -1;
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        *sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        *sl = sizeof *s6;
    } else return -1;
    return 0;
}

/* a socket of `type` connected to ADDR (SO_SNDBUF set first when
 * sndbuf > 0); -1 when ADDR is malformed, exit(1) on a failing call */
static TL_UNUSED int tl_connect_addr(const char *addr, int type, int sndbuf)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (tl_parse_addr(addr, &ss, &sl, 1) < 0) return -1;
    int fd = socket(ss.ss_family, type, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    if (sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0) {
        perror("SO_SNDBUF"); exit(1);
    }
    while (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        if (errno == EINTR) continue;
        perror("connect");
        exit(1);
    }
    return fd;
}

/* ---- files and plain descriptors ---- */

/* all n bytes to fd, retrying after EINTR and short writes; a failure, a
 * 0 or a count above the bytes asked: a message with `what`, exit(1) */
static TL_UNUSED void tl_write_all(int fd, const void *buf, size_t n, const char *what)
{
    const unsigned char *p = buf;
    for (size_t o = 0; o < n;) {
        ssize_t r = write(fd, p + o, n - o);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { perror(what); exit(1); }
        if (r == 0 || (size_t)r > n - o) {
            fprintf(stderr, "%s returned %zd for %zu\n", what, r, n - o);
            exit(1);
        }
        o += (size_t)r;
    }
}

/* read `in` until EOF, everything to `out`; exit(1) on an error */
static TL_UNUSED void tl_copy_to_eof(int in, int out)
{
    static unsigned char b[65536];
    for (;;) {
        ssize_t r = read(in, b, sizeof b);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { perror("read"); exit(1); }
        if (r == 0) return;
        tl_write_all(out, b, (size_t)r, "write");
    }
}

/* the whole file PATH, malloc()ed and NUL-terminated, its size in *len;
 * exit(2) when it cannot be opened, exit(1) on a read error */
static TL_UNUSED unsigned char *tl_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); exit(2); }
    size_t n = 0, cap = 65536;
    unsigned char *p = malloc(cap + 1);
    for (;;) {
        if (!p) { perror("malloc"); exit(1); }
        if (n == cap) {
            cap *= 2;
            p = realloc(p, cap + 1);
            continue;
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { perror("read"); exit(1); }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    p[n] = 0;
    *len = n;
    return p;
}

/* --dump: the program's intended bytes to PATH; -1 (after perror) on error */
static TL_UNUSED int tl_dump(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len || fclose(f)) { perror(path); return -1; }
    return 0;
}

/* a server's --port-file: TEXT written to PATH.tmp, then renamed to PATH
 * (a poller never sees it half written); exit(1) on error */
static TL_UNUSED void tl_write_port_file(const char *path, const char *text)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(tmp); exit(1); }
    tl_write_all(fd, text, strlen(text), "write");
    close(fd);
    if (rename(tmp, path) < 0) { perror("rename"); exit(1); }
}

/* growable byte buffer, kept NUL-terminated */
struct tl_buf { unsigned char *p; size_t len, cap; };

static TL_UNUSED void tl_buf_add(struct tl_buf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + n + 1) nc *= 2;
        b->p = realloc(b->p, nc);
        if (!b->p) { perror("realloc"); exit(1); }
        b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static TL_UNUSED void tl_buf_str(struct tl_buf *b, const char *s) { tl_buf_add(b, s, strlen(s)); }

/* ---- write-family calls ---- */

enum tl_call { C_WRITE, C_SEND, C_SENDTO, C_WRITEV, C_SENDMSG, C_SENDMMSG, C_SENDFILE, C_SPLICE };
#define CALL_BIT(c) (1u << (c))
#define CALLS_PLAIN (CALL_BIT(C_WRITE) | CALL_BIT(C_SEND) | CALL_BIT(C_SENDTO) | \
                     CALL_BIT(C_WRITEV) | CALL_BIT(C_SENDMSG))

/* the call called NAME ("write", "sendmsg", ...) when it is in `allowed`
 * (CALL_BIT()s), else -1 */
static TL_UNUSED int tl_parse_call(const char *name, unsigned allowed)
{
    static const char *const names[] = { "write", "send", "sendto", "writev", "sendmsg",
                                         "sendmmsg", "sendfile", "splice" };
    for (unsigned c = 0; c < sizeof names / sizeof names[0]; c++)
        if (!strcmp(name, names[c])) return (allowed & CALL_BIT(c)) ? (int)c : -1;
    return -1;
}

/* one call of the CALLS_PLAIN kind for p[0..want); writev/sendmsg cut the
 * bytes into niov iovecs of want/niov bytes, the last one taking the rest.
 * MSG_NOSIGNAL wherever there are flags. */
static TL_UNUSED ssize_t tl_send_call(enum tl_call c, int fd, const void *buf, size_t want,
                                      int niov)
{
    const unsigned char *p = buf;
    switch (c) {
    case C_WRITE: return write(fd, p, want);
    case C_SEND: return send(fd, p, want, MSG_NOSIGNAL);
    case C_SENDTO: return sendto(fd, p, want, MSG_NOSIGNAL, NULL, 0);
    case C_WRITEV:
    case C_SENDMSG: {
        struct iovec iov[8];
        size_t at = 0;
        if (niov < 1 || niov > 8) abort();
        for (int k = 0; k < niov; k++) {
            size_t n = k == niov - 1 ? want - at : want / (size_t)niov;
            iov[k].iov_base = (void *)(p + at);
            iov[k].iov_len = n;
            at += n;
        }
        if (c == C_WRITEV) return writev(fd, iov, niov);
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = iov;
        m.msg_iovlen = (size_t)niov;
        return sendmsg(fd, &m, MSG_NOSIGNAL);
    }
    default:
        abort();
    }
}

/* a pseudo-random call size 1..range: the next step of the LCG *state,
 * bits from `shift` up */
static TL_UNUSED size_t tl_lcg_size(uint32_t *state, unsigned shift, uint32_t range)
{
    *state = *state * 1103515245u + 12345u;
    return 1 + (*state >> shift) % range;
}

/* a write-family return value r for `want` bytes asked at offset `off`:
 * 0 when it is 1..want, else a message (prefixed PROG) and -1 */
static TL_UNUSED int tl_check_count(const char *prog, ssize_t r, size_t want, size_t off)
{
    if (r < 0)
        fprintf(stderr, "%s: call returned -1 errno %d (%s) at offset %zu\n",
                prog, errno, strerror(errno), off);
    else if (r == 0)
        fprintf(stderr, "%s: call returned 0 for %zu bytes at %zu\n", prog, want, off);
    else if ((size_t)r > want)
        fprintf(stderr, "%s: call returned %zd > %zu asked at %zu\n", prog, r, want, off);
    else
        return 0;
    return -1;
}

/* poll() until fd is ready for `ev`; exit(1) on POLLERR / POLLNVAL */
static TL_UNUSED void tl_wait_fd(int fd, short ev, const char *prog)
{
    struct pollfd p = { .fd = fd, .events = ev };
    for (;;) {
        int r = poll(&p, 1, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { perror("poll"); exit(1); }
        if (p.revents & (POLLERR | POLLNVAL)) {
            fprintf(stderr, "%s: poll revents 0x%x\n", prog, p.revents);
            exit(1);
        }
        return;
    }
}

/* ---- the request stream of eintr_writer and nonblock_writer ---- */

static TL_UNUSED unsigned char tl_body_byte(unsigned req, size_t j)
{
    uint32_t x = (uint32_t)j * 2654435761u ^ (req * 0x9e3779b9u);
    x ^= x >> 15;
    return (unsigned char)(x * 31u + (j >> 9));
}

/* `count` POSTs with `body`-byte bodies (header-looking text at both ends
 * of each), then a GET without a body.  starts (count + 1 entries, or
 * NULL) gets each request's offset. */
static TL_UNUSED unsigned char *tl_build_stream(unsigned count, size_t body, size_t *len,
                                                size_t *starts)
{
    static const char TRICKY[] =
        "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nGET /x HTTP/1.1\r\n\r\n";
    size_t cap = (size_t)(count + 1) * (body + 512) + 1;
    unsigned char *s = malloc(cap);
    if (!s) { perror("malloc"); exit(1); }
    size_t o = 0;
    for (unsigned i = 0; i < count; i++) {
        if (starts) starts[i] = o;
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
        for (size_t j = 0; j < body; j++) s[o + j] = tl_body_byte(i, j);
        if (body >= 2 * sizeof TRICKY) {
            memcpy(s + o, TRICKY, sizeof TRICKY - 1);
            memcpy(s + o + body - (sizeof TRICKY - 1), TRICKY, sizeof TRICKY - 1);
        }
        o += body;
    }
    /* a last request without a body: its head is the program's final write
     * (with a full send buffer, a shim that kept rewritten bytes owed but
     * reported them as sent would leave this request unfinished forever) */
    if (starts) starts[count] = o;
    o += (size_t)sprintf((char *)s + o,
            "GET /tail HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n");
    *len = o;
    return s;
}

/* the options eintr_writer and nonblock_writer share; the caller sets the
 * defaults */
struct tl_stream_opts {
    int sndbuf, do_read, dry;
    unsigned count, timeout;
    size_t body, chunk;
    enum tl_call call;
    const char *dump;
};

/* takes argv[*i] (with its value) when it is a shared option: 1; a --call
 * that is not CALLS_PLAIN: -1; any other argument: 0 */
static TL_UNUSED int tl_stream_opt(int argc, char **argv, int *i, struct tl_stream_opts *o)
{
    const char *a = argv[*i];
    int v = *i + 1 < argc;   /* a value follows */
    if (!strcmp(a, "--sndbuf") && v) o->sndbuf = atoi(argv[++*i]);
    else if (!strcmp(a, "--count") && v) o->count = (unsigned)atoi(argv[++*i]);
    else if (!strcmp(a, "--body") && v) o->body = strtoul(argv[++*i], NULL, 10);
    else if (!strcmp(a, "--chunk") && v) o->chunk = strtoul(argv[++*i], NULL, 10);
    else if (!strcmp(a, "--call") && v) {
        int c = tl_parse_call(argv[++*i], CALLS_PLAIN);
        if (c < 0) return -1;
        o->call = (enum tl_call)c;
    }
    else if (!strcmp(a, "--no-read")) o->do_read = 0;
    else if (!strcmp(a, "--dump") && v) o->dump = argv[++*i];
    else if (!strcmp(a, "--dry-run")) o->dry = 1;
    else if (!strcmp(a, "--timeout") && v) o->timeout = (unsigned)atoi(argv[++*i]);
    else return 0;
    return 1;
}

/* read n responses (status 200, Content-Length bodies) from fd.  0 when
 * all came, 1 on a bad response or a read error, 4 on EOF before the last.
 * nonblock: EAGAIN and EINTR wait for POLLIN; else EINTR retries. */
static TL_UNUSED int tl_read_responses(int fd, unsigned n, const char *prog, int nonblock)
{
    static unsigned char rb[1 << 16];
    size_t rl = 0;
    unsigned got = 0;
    while (got < n) {
        unsigned char *e = memmem(rb, rl, "\r\n\r\n", 4);
        if (e) {
            size_t hend = (size_t)(e - rb) + 4, clen = 0;
            if (rl < 12 || memcmp(rb, "HTTP/1.", 7)) {
                fprintf(stderr, "%s: bad response\n", prog);
                return 1;
            }
            for (size_t k = 0; k + 15 < hend; k++)
                if ((k == 0 || rb[k - 1] == '\n') && !strncasecmp((char *)rb + k, "content-length:", 15))
                    clen = strtoul((char *)rb + k + 15, NULL, 10);
            if (hend + clen > sizeof rb) { fprintf(stderr, "response too big\n"); return 1; }
            if (rl >= hend + clen) {
                if (memcmp(rb + 9, "200", 3)) {
                    fprintf(stderr, "%s: response %u: %.12s\n", prog, got, (char *)rb);
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
        if (r < 0 && nonblock && (errno == EAGAIN || errno == EINTR)) {
            tl_wait_fd(fd, POLLIN, prog);
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { perror("read"); return 1; }
        if (r == 0) {
            fprintf(stderr, "%s: EOF after %u of %u responses\n", prog, got, n);
            return 4;
        }
        rl += (size_t)r;
    }
    fprintf(stderr, "%s: got %u responses\n", prog, got);
    return 0;
}

/* ---- the library and the kernel behind its back ---- */

/* 1 if libforceclose is mapped in this process (so a test knows which run
 * it is in), 0 if not, -1 if /proc/self/maps cannot be read. */
static TL_UNUSED int tl_lib_loaded(void)
{
    char line[4096];
    FILE *f = fopen("/proc/self/maps", "r");
    int found = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "libforceclose") != NULL)
            found = 1;
    fclose(f);
    return found;
}

#if defined(__x86_64__)
/* A system call made inline: libc never sees it, so neither does the
 * library (syscall(2) goes through libc's wrapper, which it may hook). */
static TL_UNUSED long tl_inline_syscall(long n, long a, long b, long c, long d)
{
    long r;
    register long r10 __asm__("r10") = d;

    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return r;
}
#endif

#endif
