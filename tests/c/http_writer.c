/* http_writer: connect to a local test server and write HTTP/1.x requests
 * with a chosen syscall and a chosen way of cutting the bytes into calls.
 *
 * Used by tests/lowlevel.bats to check that libforceclose.so rewrites the
 * connection headers of every request, whatever the write pattern.
 *
 * Everything is deterministic; the run is bounded by alarm().
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/sendfile.h>

#include "testlib.h"

static void usage(void)
{
    fprintf(stderr,
"usage: http_writer [options] ADDR REQ...\n"
"       http_writer --dry-run --dump FILE [--pipelined] REQ...\n"
"       http_writer --print NAME | --list\n"
"  ADDR   127.0.0.1:PORT | [::1]:PORT | unix:PATH\n"
"  REQ    @NAME (built-in corpus, see --list) or a file holding raw request bytes\n"
"cutting (one syscall per piece):\n"
"  --whole        one piece per unit (default)\n"
"  --bytewise     one piece per byte\n"
"  --split K      two pieces, cut at byte K of the unit\n"
"  --chunks K     pieces of K bytes\n"
"syscall used for every piece:\n"
"  --call write|send|sendto|writev|sendmsg|sendmmsg|sendfile|splice\n"
"                 (default write; sendfile reads from a memfd holding the\n"
"                 unit, splice moves the bytes through a pipe)\n"
"  --send --sendto --writev --sendmsg --sendmmsg        shorthands for --call\n"
"  --body-call CALL  bytes after the end of each head (bodies, chunk framing\n"
"                 and trailers) go through CALL instead, cut at head/request\n"
"                 boundaries\n"
"  --iov N        vectored calls: cut iovecs every N bytes (default: at request\n"
"                 boundaries only); sendmmsg: one message per request part\n"
"  --writev-bytes shorthand for --call writev --iov 1\n"
"units:\n"
"  --pipelined    all requests form one unit (written back to back); otherwise\n"
"                 each request is its own unit\n"
"after writing:\n"
"  --read         read one HTTP response per request (default)\n"
"  --no-read      shutdown(SHUT_WR), wait for EOF only with --wait-eof, close\n"
"  --wait-eof     after --no-read, read until the peer closes\n"
"other:\n"
"  --dump FILE    also write the program's bytes (all units) to FILE\n"
"  --dry-run      do not connect (use with --dump)\n"
"  --timeout S    alarm() bound, default 20\n");
    exit(2);
}

/* ------------------------------------------------------------------ */
/* corpus                                                             */

/* a body that looks like header lines and a second request: must never be
 * touched because it is inside a Content-Length body */
static const char TRICKY_BODY[] =
    "Connection: keep-alive\r\n"
    "Keep-Alive: timeout=5\r\n"
    "Proxy-Connection: keep-alive\r\n"
    "\r\n"
    "GET /smuggled HTTP/1.1\r\n"
    "Host: x\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

static void add_chunk(struct tl_buf *b, const char *ext, const char *data)
{
    char h[64];
    snprintf(h, sizeof h, "%zx", strlen(data));
    tl_buf_str(b, h);
    tl_buf_str(b, ext);
    tl_buf_str(b, "\r\n");
    tl_buf_str(b, data);
    tl_buf_str(b, "\r\n");
}

static const char *CORPUS_NAMES[] = {
    "get", "get-ka", "get-te-ka", "post-cl", "post-chunked", "lf", "lf-ka",
    "http10", "http10-ka", "proxy", "case", "get-close", "empty-cl", "post-big", NULL
};

static int corpus(const char *name, struct tl_buf *b)
{
    if (!strcmp(name, "get")) {
        tl_buf_str(b, "GET /plain?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "User-Agent: fc-test/1\r\nAccept: */*\r\n\r\n");
    } else if (!strcmp(name, "get-ka")) {
        tl_buf_str(b, "GET /ka HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: keep-alive\r\nAccept: */*\r\n\r\n");
    } else if (!strcmp(name, "get-te-ka")) {
        tl_buf_str(b, "GET /te HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: TE, keep-alive\r\nKeep-Alive: timeout=5\r\n"
                      "TE: trailers\r\n\r\n");
    } else if (!strcmp(name, "post-cl")) {
        char h[64];
        tl_buf_str(b, "POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: text/plain\r\n");
        snprintf(h, sizeof h, "Content-Length: %zu\r\n\r\n", strlen(TRICKY_BODY));
        tl_buf_str(b, h);
        tl_buf_str(b, TRICKY_BODY);
    } else if (!strcmp(name, "post-chunked")) {
        tl_buf_str(b, "POST /chunked HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
                      "Trailer: X-Checksum\r\n\r\n");
        add_chunk(b, ";ext=1;name=\"v\"", "hello chunked world\n");
        add_chunk(b, "", "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n");
        add_chunk(b, ";last-before-zero", "GET / HTTP/1.1\r\n");
        tl_buf_str(b, "0;final=yes\r\nX-Checksum: abc\r\n"
                      "Connection: keep-alive\r\nKeep-Alive: timeout=9\r\n\r\n");
    } else if (!strcmp(name, "lf")) {
        tl_buf_str(b, "GET /lf HTTP/1.1\nHost: 127.0.0.1\nAccept: */*\n\n");
    } else if (!strcmp(name, "lf-ka")) {
        tl_buf_str(b, "GET /lf-ka HTTP/1.1\nHost: 127.0.0.1\n"
                      "Connection: keep-alive\nKeep-Alive: max=3\n\n");
    } else if (!strcmp(name, "http10")) {
        tl_buf_str(b, "GET /old HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    } else if (!strcmp(name, "http10-ka")) {
        tl_buf_str(b, "GET /old-ka HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                      "Connection: keep-alive\r\n\r\n");
    } else if (!strcmp(name, "proxy")) {
        tl_buf_str(b, "GET http://example.test/p HTTP/1.1\r\nHost: example.test\r\n"
                      "Proxy-Connection: keep-alive\r\n\r\n");
    } else if (!strcmp(name, "case")) {
        tl_buf_str(b, "GET /case HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                      "CONNECTION: Keep-Alive\r\nkeep-alive: timeout=1\r\n\r\n");
    } else if (!strcmp(name, "get-close")) {
        tl_buf_str(b, "GET /already HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n");
    } else if (!strcmp(name, "post-big")) {
        /* 20000-byte body: a deterministic byte pattern with header- and
         * request-looking text every 1000 bytes */
        char h[64];
        static unsigned char body[20000];
        static const char inj[] = "\r\n\r\nGET /inner HTTP/1.1\r\nConnection: keep-alive\r\n\r\n";
        for (size_t j = 0; j < sizeof body; j++) body[j] = (unsigned char)((j * 131u + (j >> 7)) & 0xff);
        for (size_t j = 0; j + sizeof inj < sizeof body; j += 1000) memcpy(body + j, inj, sizeof inj - 1);
        tl_buf_str(b, "POST /big HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
                      "Content-Type: application/octet-stream\r\n");
        snprintf(h, sizeof h, "Content-Length: %zu\r\n\r\n", sizeof body);
        tl_buf_str(b, h);
        tl_buf_add(b, body, sizeof body);
    } else if (!strcmp(name, "empty-cl")) {
        tl_buf_str(b, "POST /empty HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Length: 0\r\n\r\n");
    } else {
        return -1;
    }
    return 0;
}

static void load_req(const char *spec, struct tl_buf *b)
{
    if (spec[0] == '@') {
        if (corpus(spec + 1, b) < 0) {
            fprintf(stderr, "http_writer: unknown corpus entry %s\n", spec);
            exit(2);
        }
        return;
    }
    size_t n;
    unsigned char *p = tl_read_file(spec, &n);
    tl_buf_add(b, p, n);
    free(p);
}

/* ------------------------------------------------------------------ */
/* writing                                                            */

struct unit {
    unsigned char *p;
    size_t len;
    size_t *segend;   /* end offsets of the requests inside the unit */
    size_t *headend;  /* end offsets of their heads (after the blank line) */
    int nseg;
    int memfd;        /* --call sendfile: the unit's bytes in a memfd */
};

/* --call splice: bytes put in the pipe but not yet spliced stay there */
static int g_pipe[2] = { -1, -1 };
static const struct unit *g_pipe_unit;
static size_t g_pipe_from, g_pipe_to;

static enum tl_call g_call = C_WRITE;
static int g_body_call = -1;  /* --body-call: call used for bytes after a head */
static size_t g_iov = 0;  /* 0: cut iovecs at request boundaries only */
static unsigned long g_calls, g_short;

/* next cut after offset `at` (exclusive), never beyond `end` */
static size_t next_cut(const struct unit *u, size_t at, size_t end)
{
    size_t c = end;
    for (int i = 0; i < u->nseg; i++)
        if (u->segend[i] > at && u->segend[i] < c) c = u->segend[i];
    if (g_iov) {
        size_t k = (at / g_iov + 1) * g_iov;
        if (k < c) c = k;
    }
    return c;
}

static size_t seg_end_after(const struct unit *u, size_t at, size_t end)
{
    for (int i = 0; i < u->nseg; i++)
        if (u->segend[i] > at) return u->segend[i] < end ? u->segend[i] : end;
    return end;
}

#define MAXIOV 1024
#define MAXMSG 64

static ssize_t one_call(int fd, const struct unit *u, size_t from, size_t to)
{
    size_t want = to - from;
    ssize_t r;
    g_calls++;
    switch (g_call) {
    case C_WRITE:
        r = write(fd, u->p + from, want);
        break;
    case C_SEND:
        r = send(fd, u->p + from, want, MSG_NOSIGNAL);
        break;
    case C_SENDTO:
        r = sendto(fd, u->p + from, want, MSG_NOSIGNAL, NULL, 0);
        break;
    case C_WRITEV:
    case C_SENDMSG: {
        static struct iovec iov[MAXIOV];
        int n = 0;
        size_t at = from;
        while (at < to && n < MAXIOV) {
            size_t c = next_cut(u, at, to);
            iov[n].iov_base = u->p + at;
            iov[n].iov_len = c - at;
            n++;
            at = c;
        }
        want = at - from;
        if (g_call == C_WRITEV) {
            r = writev(fd, iov, n);
        } else {
            struct msghdr m;
            memset(&m, 0, sizeof m);
            m.msg_iov = iov;
            m.msg_iovlen = (size_t)n;
            r = sendmsg(fd, &m, MSG_NOSIGNAL);
        }
        break;
    }
    case C_SENDMMSG: {
        static struct iovec iov[MAXMSG][MAXIOV];
        static struct mmsghdr mm[MAXMSG];
        size_t mlen[MAXMSG];
        int nm = 0;
        size_t at = from;
        memset(mm, 0, sizeof mm);
        while (at < to && nm < MAXMSG) {
            size_t mend = seg_end_after(u, at, to);
            int n = 0;
            size_t mstart = at;
            while (at < mend && n < MAXIOV) {
                size_t c = next_cut(u, at, mend);
                iov[nm][n].iov_base = u->p + at;
                iov[nm][n].iov_len = c - at;
                n++;
                at = c;
            }
            mm[nm].msg_hdr.msg_iov = iov[nm];
            mm[nm].msg_hdr.msg_iovlen = (size_t)n;
            mlen[nm] = at - mstart;
            nm++;
            if (at < mend) break; /* iovec limit hit inside a message */
        }
        want = at - from;
        int k = sendmmsg(fd, mm, (unsigned)nm, MSG_NOSIGNAL);
        if (k < 0) { r = -1; break; }
        if (k == 0 || k > nm) {
            fprintf(stderr, "http_writer: sendmmsg returned %d of %d messages\n", k, nm);
            exit(1);
        }
        size_t tot = 0;
        for (int i = 0; i < k; i++) {
            if (mm[i].msg_len > mlen[i]) {
                fprintf(stderr, "http_writer: sendmmsg msg %d len %u > %zu asked\n",
                        i, mm[i].msg_len, mlen[i]);
                exit(1);
            }
            if (mm[i].msg_len < mlen[i] && i != k - 1) {
                fprintf(stderr, "http_writer: sendmmsg short message %d followed by more\n", i);
                exit(1);
            }
            tot += mm[i].msg_len;
        }
        r = (ssize_t)tot;
        break;
    }
    case C_SENDFILE: {
        off_t o = (off_t)from;
        r = sendfile(fd, u->memfd, &o, want);
        if (r >= 0 && o != (off_t)from + r) {
            fprintf(stderr, "http_writer: sendfile moved offset to %lld, expected %lld\n",
                    (long long)o, (long long)from + (long long)r);
            exit(1);
        }
        break;
    }
    case C_SPLICE: {
        if (g_pipe_unit != u || g_pipe_from == g_pipe_to) {
            if (g_pipe_unit == u && g_pipe_from != g_pipe_to) abort();
            size_t n = want < 65536 ? want : 65536;
            tl_write_all(g_pipe[1], u->p + from, n, "pipe write");
            g_pipe_unit = u;
            g_pipe_from = from;
            g_pipe_to = from + n;
        }
        if (g_pipe_from != from) { fprintf(stderr, "http_writer: splice bookkeeping\n"); exit(1); }
        want = g_pipe_to - g_pipe_from < want ? g_pipe_to - g_pipe_from : want;
        r = splice(g_pipe[0], NULL, fd, NULL, want, 0);
        if (r > 0) g_pipe_from += (size_t)r;
        break;
    }
    default:
        abort();
    }
    if (r > (ssize_t)want) {
        fprintf(stderr, "http_writer: call returned %zd > %zu asked\n", r, want);
        exit(1);
    }
    return r;
}

static void write_range(int fd, const struct unit *u, size_t from, size_t to)
{
    while (from < to) {
        ssize_t r = one_call(fd, u, from, to);
        if (r < 0) {
            if (errno == EINTR) continue;
            perror("http_writer: write");
            exit(1);
        }
        if (r == 0) {
            fprintf(stderr, "http_writer: write returned 0\n");
            exit(1);
        }
        if ((size_t)r < to - from) g_short++;
        from += (size_t)r;
    }
}

/* one piece; with --body-call the piece is cut where a head ends / a
 * request ends, and the bytes after a head go through the body call */
static void write_piece(int fd, const struct unit *u, size_t from, size_t to)
{
    if (g_body_call < 0) {
        write_range(fd, u, from, to);
        return;
    }
    enum tl_call main_call = g_call;
    while (from < to) {
        int i = 0;
        while (i < u->nseg - 1 && u->segend[i] <= from) i++;
        int in_body = from >= u->headend[i];
        size_t end = in_body ? u->segend[i] : u->headend[i];
        if (end > to) end = to;
        g_call = in_body ? (enum tl_call)g_body_call : main_call;
        write_range(fd, u, from, end);
        from = end;
    }
    g_call = main_call;
}

/* ------------------------------------------------------------------ */
/* reading responses                                                  */

static unsigned char rbuf[1 << 20];
static size_t rlen;

static int fill(int fd)
{
    if (rlen == sizeof rbuf) { fprintf(stderr, "response too large\n"); exit(1); }
    for (;;) {
        ssize_t r = read(fd, rbuf + rlen, sizeof rbuf - rlen);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { perror("http_writer: read"); exit(1); }
        rlen += (size_t)r;
        return r > 0;
    }
}

static void consume(size_t n)
{
    memmove(rbuf, rbuf + n, rlen - n);
    rlen -= n;
}

/* returns 1 on a complete response, 0 on clean EOF before any byte */
static int read_response(int fd)
{
    size_t hend;
    for (;;) {
        unsigned char *e = memmem(rbuf, rlen, "\r\n\r\n", 4);
        unsigned char *e2 = memmem(rbuf, rlen, "\n\n", 2);
        if (e && (!e2 || e <= e2)) { hend = (size_t)(e - rbuf) + 4; break; }
        if (e2) { hend = (size_t)(e2 - rbuf) + 2; break; }
        if (!fill(fd)) {
            if (rlen == 0) return 0;
            fprintf(stderr, "http_writer: EOF inside response head\n");
            exit(1);
        }
    }
    if (rlen < 9 || memcmp(rbuf, "HTTP/1.", 7)) {
        fprintf(stderr, "http_writer: bad response start\n");
        exit(1);
    }
    size_t clen = 0;
    for (size_t i = 0; i < hend; i++) {
        if ((i == 0 || rbuf[i - 1] == '\n') && hend - i > 15 &&
            !strncasecmp((char *)rbuf + i, "content-length:", 15)) {
            clen = strtoul((char *)rbuf + i + 15, NULL, 10);
        }
    }
    fprintf(stderr, "http_writer: response %.12s content-length %zu\n", (char *)rbuf, clen);
    consume(hend);
    while (rlen < clen)
        if (!fill(fd)) { fprintf(stderr, "http_writer: EOF inside response body\n"); exit(1); }
    consume(clen);
    return 1;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    enum { M_WHOLE, M_BYTE, M_SPLIT, M_CHUNKS } mode = M_WHOLE;
    size_t k = 0;
    int pipelined = 0, do_read = 1, wait_eof = 0, dry = 0;
    unsigned timeout = 20;
    const char *dump = NULL;
    int i;

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--whole")) mode = M_WHOLE;
        else if (!strcmp(a, "--bytewise")) mode = M_BYTE;
        else if (!strcmp(a, "--split") && i + 1 < argc) { mode = M_SPLIT; k = strtoul(argv[++i], NULL, 10); }
        else if (!strcmp(a, "--chunks") && i + 1 < argc) { mode = M_CHUNKS; k = strtoul(argv[++i], NULL, 10); if (!k) usage(); }
        else if (!strcmp(a, "--call") && i + 1 < argc) {
            int c = tl_parse_call(argv[++i], ~0u);
            if (c < 0) usage();
            g_call = (enum tl_call)c;
        }
        else if (!strcmp(a, "--body-call") && i + 1 < argc) {
            g_body_call = tl_parse_call(argv[++i], CALL_BIT(C_WRITE) | CALL_BIT(C_SEND) |
                                        CALL_BIT(C_WRITEV) | CALL_BIT(C_SENDFILE) | CALL_BIT(C_SPLICE));
            if (g_body_call < 0) usage();
        }
        else if (!strcmp(a, "--send")) g_call = C_SEND;
        else if (!strcmp(a, "--sendto")) g_call = C_SENDTO;
        else if (!strcmp(a, "--writev")) g_call = C_WRITEV;
        else if (!strcmp(a, "--sendmsg")) g_call = C_SENDMSG;
        else if (!strcmp(a, "--sendmmsg")) g_call = C_SENDMMSG;
        else if (!strcmp(a, "--writev-bytes")) { g_call = C_WRITEV; g_iov = 1; }
        else if (!strcmp(a, "--iov") && i + 1 < argc) g_iov = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--pipelined")) pipelined = 1;
        else if (!strcmp(a, "--read")) do_read = 1;
        else if (!strcmp(a, "--no-read")) do_read = 0;
        else if (!strcmp(a, "--wait-eof")) wait_eof = 1;
        else if (!strcmp(a, "--dump") && i + 1 < argc) dump = argv[++i];
        else if (!strcmp(a, "--dry-run")) dry = 1;
        else if (!strcmp(a, "--timeout") && i + 1 < argc) timeout = (unsigned)atoi(argv[++i]);
        else if (!strcmp(a, "--list")) {
            for (int j = 0; CORPUS_NAMES[j]; j++) printf("%s\n", CORPUS_NAMES[j]);
            return 0;
        } else if (!strcmp(a, "--print") && i + 1 < argc) {
            struct tl_buf b = {0};
            if (corpus(argv[++i], &b) < 0) usage();
            fwrite(b.p, 1, b.len, stdout);
            return 0;
        } else usage();
    }
    tl_alarm("http_writer", timeout);
    signal(SIGPIPE, SIG_IGN);

    const char *addr = NULL;
    if (!dry) {
        if (i >= argc) usage();
        addr = argv[i++];
    }
    int nreq = argc - i;
    if (nreq <= 0) usage();

    /* build units */
    int nunits = pipelined ? 1 : nreq;
    struct unit *units = calloc((size_t)nunits, sizeof *units);
    struct tl_buf all = {0};
    for (int u = 0, r = 0; u < nunits; u++) {
        struct tl_buf b = {0};
        int per = pipelined ? nreq : 1;
        units[u].segend = calloc((size_t)per, sizeof(size_t));
        units[u].headend = calloc((size_t)per, sizeof(size_t));
        for (int j = 0; j < per; j++, r++) {
            size_t start = b.len;
            load_req(argv[i + r], &b);
            units[u].segend[j] = b.len;
            /* head end: the first empty line (CRLF or bare LF) */
            size_t he = b.len;
            for (size_t o = start; o + 1 < b.len; o++) {
                if (b.p[o] == '\n' && b.p[o + 1] == '\n') { he = o + 2; break; }
                if (b.p[o] == '\n' && o + 2 < b.len && b.p[o + 1] == '\r' && b.p[o + 2] == '\n') { he = o + 3; break; }
            }
            units[u].headend[j] = he;
        }
        units[u].nseg = per;
        units[u].p = b.p;
        units[u].len = b.len;
        tl_buf_add(&all, b.p, b.len);
    }
    if (dump && tl_dump(dump, all.p, all.len) < 0) return 1;
    if (dry) return 0;

    if (g_call == C_SENDFILE || g_body_call == C_SENDFILE) {
        for (int u = 0; u < nunits; u++) {
            units[u].memfd = memfd_create("http_writer", 0);
            if (units[u].memfd < 0) { perror("memfd_create"); return 1; }
            tl_write_all(units[u].memfd, units[u].p, units[u].len, "memfd write");
        }
    }
    if ((g_call == C_SPLICE || g_body_call == C_SPLICE) && pipe(g_pipe) < 0) { perror("pipe"); return 1; }

    int fd = tl_connect_addr(addr, SOCK_STREAM, 0);
    if (fd < 0) {
        fprintf(stderr, "http_writer: bad address %s (only numeric loopback)\n", addr);
        return 2;
    }
    for (int u = 0; u < nunits; u++) {
        struct unit *un = &units[u];
        switch (mode) {
        case M_WHOLE:
            write_piece(fd, un, 0, un->len);
            break;
        case M_BYTE:
            for (size_t o = 0; o < un->len; o++) write_piece(fd, un, o, o + 1);
            break;
        case M_SPLIT: {
            size_t c = k < un->len ? k : un->len;
            write_piece(fd, un, 0, c);
            write_piece(fd, un, c, un->len);
            break;
        }
        case M_CHUNKS:
            for (size_t o = 0; o < un->len; o += k)
                write_piece(fd, un, o, o + k < un->len ? o + k : un->len);
            break;
        }
    }
    fprintf(stderr, "http_writer: wrote %zu bytes in %lu calls (%lu short)\n",
            all.len, g_calls, g_short);

    if (do_read) {
        for (int r = 0; r < nreq; r++) {
            if (!read_response(fd)) {
                fprintf(stderr, "http_writer: EOF after %d of %d responses\n", r, nreq);
                return 4;
            }
        }
        fprintf(stderr, "http_writer: got %d responses\n", nreq);
    } else {
        if (shutdown(fd, SHUT_WR) < 0) { perror("shutdown"); return 1; }
        if (wait_eof) {
            char tmp[4096];
            ssize_t r;
            while ((r = read(fd, tmp, sizeof tmp)) != 0) {
                if (r < 0 && errno != EINTR) { perror("read"); return 1; }
            }
        }
    }
    if (close(fd) < 0) { perror("close"); return 1; }
    return 0;
}
