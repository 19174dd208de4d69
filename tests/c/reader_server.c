/* reader_server: a keep-alive HTTP/1.1 server on 127.0.0.1 that sends each
 * response in small pieces, for tests/readers.bats.
 *
 * The recording server (tests/server/recording_server.py) sends a head and
 * its body in one send(), so a reader always finds a complete head in the
 * kernel.  This one cuts every response into pieces (TCP_NODELAY, a pause
 * between pieces) so heads, chunk-size lines and trailers arrive a byte or
 * a few bytes at a time: the reader's read calls then meet partial heads,
 * a head whose last "\n" comes alone, and so on.  Like the recording
 * server it ignores "Connection: close" and never closes a connection.
 *
 * usage: reader_server --port-file F --log FILE
 *                      [--head-piece K] [--body-piece K] [--pause-us U]
 *                      [--timeout S]
 *
 *   --head-piece K  send heads (interim and final) K bytes per send()
 *                   (default 1)
 *   --body-piece K  send bodies (chunk framing included) K bytes per send()
 *                   (default 0: the whole body in one send())
 *   --pause-us U    pause between pieces (default 300)
 *   --corrupt K     body byte K (of the pattern) is sent as '#' instead:
 *                   for checking that the reader's verification bites
 *
 * Targets (bodies are the recording server's pattern):
 *   /size/N            200, Content-Length
 *   /chunked/size/N    200, chunked with extensions and a trailer
 *                      "X-Trailer-Two: done"
 *   /ka/size/N         200, "Connection: keep-alive" + Keep-Alive
 *   /hints/2/size/N    two "103 Early Hints", then 200 with Content-Length
 *
 * LOG gets one line per event: "accept K", "request K TARGET",
 * "end K eof requests=R" (the client closed or shut down its side) or
 * "end K error ...".  Bounded by alarm(); requests carry no body.
 */
#define _GNU_SOURCE
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>

#include "testlib.h"

static const char PATTERN[] = "0123456789abcdefghijklmnopqrstuvwxyz\n";
#define PLEN (sizeof PATTERN - 1)

static size_t head_piece = 1, body_piece;
static unsigned pause_us = 300;
static long corrupt_at = -1;
static FILE *logf;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void usage(void)
{
    fprintf(stderr, "usage: reader_server --port-file F --log FILE [--head-piece K] "
                    "[--body-piece K] [--pause-us U] [--corrupt K] [--timeout S]\n");
    exit(2);
}

static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logline(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&log_lock);
    va_start(ap, fmt);
    vfprintf(logf, fmt, ap);
    va_end(ap);
    fputc('\n', logf);
    fflush(logf);
    pthread_mutex_unlock(&log_lock);
}

static void pattern(struct tl_buf *b, size_t off, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char c = PATTERN[(off + i) % PLEN];
        if (corrupt_at >= 0 && off + i == (size_t)corrupt_at)
            c = '#';
        tl_buf_add(b, &c, 1);
    }
}

/* sends [p, p+n) in pieces of `piece` bytes (0: one send) with pauses */
static int send_pieces(int fd, const void *buf, size_t n, size_t piece)
{
    const char *p = buf;
    size_t k;
    if (piece == 0)
        piece = n ? n : 1;
    while (n > 0) {
        k = n < piece ? n : piece;
        size_t sent = 0;
        while (sent < k) {
            ssize_t w = send(fd, p + sent, k - sent, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
            sent += (size_t)w;
        }
        p += k;
        n -= k;
        if (n > 0 && pause_us) {
            struct timespec ts = { 0, (long)pause_us * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

static int respond(int fd, const char *target)
{
    struct tl_buf head = { 0 }, body = { 0 };
    unsigned long n = 0;
    const char *s = strstr(target, "/size/");
    int r = -1, chunked = 0;

    if (s)
        n = strtoul(s + 6, NULL, 10);
    if (!strncmp(target, "/hints/", 7)) {
        struct tl_buf h1 = { 0 };
        tl_buf_str(&h1, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n");
        tl_buf_str(&h1, "HTTP/1.1 103 Early Hints\r\nLink: </script.js>; rel=preload; as=script\r\n"
                        "X-Hint: second\r\n\r\n");
        r = send_pieces(fd, h1.p, h1.len, head_piece);
        free(h1.p);
        if (r < 0)
            return -1;
    }
    tl_buf_str(&head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n");
    if (!strncmp(target, "/ka/", 4))
        tl_buf_str(&head, "Connection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\n");
    if (!strncmp(target, "/chunked/", 9)) {
        static const size_t sizes[] = { 1, 7, 100, 4096, 16384, 3 };
        static const char *exts[] = { ";name=value", ";q=\"quoted;string\"", "", ";a=1;flag" };
        size_t pos = 0, i = 0;
        char line[64];
        chunked = 1;
        tl_buf_str(&head, "Transfer-Encoding: chunked\r\nTrailer: X-Trailer-Two\r\n\r\n");
        while (pos < n) {
            size_t k = sizes[i % 6];
            if (k > n - pos)
                k = n - pos;
            snprintf(line, sizeof line, i % 2 ? "%zX%s\r\n" : "0%zx%s\r\n", k, exts[i % 4]);
            tl_buf_str(&body, line);
            pattern(&body, pos, k);
            tl_buf_str(&body, "\r\n");
            pos += k;
            i++;
        }
        tl_buf_str(&body, "0;final=\"yes\"\r\nX-Trailer-Two: done\r\n\r\n");
    } else {
        char line[64];
        snprintf(line, sizeof line, "Content-Length: %lu\r\n\r\n", n);
        tl_buf_str(&head, line);
        pattern(&body, 0, n);
    }
    (void)chunked;
    r = send_pieces(fd, head.p, head.len, head_piece);
    if (r == 0 && body.len)
        r = send_pieces(fd, body.p, body.len, body_piece);
    free(head.p);
    free(body.p);
    return r;
}

struct client { int fd; unsigned id; };

static void *serve(void *arg)
{
    struct client *c = arg;
    char req[8192];
    size_t have = 0;
    unsigned long nreq = 0;
    const char *end = "eof";

    for (;;) {
        char *e = memmem(req, have, "\r\n\r\n", 4);
        if (!e) {
            if (have == sizeof req) {
                end = "error head too big";
                break;
            }
            ssize_t r = recv(c->fd, req + have, sizeof req - have, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                if (r < 0)
                    end = "error recv";
                break;
            }
            have += (size_t)r;
            continue;
        }
        size_t hl = (size_t)(e - req) + 4;
        char target[1024] = "";
        if (sscanf(req, "%*s %1023s", target) != 1) {
            end = "error bad request line";
            break;
        }
        nreq++;
        logline("request %u %s", c->id, target);
        if (respond(c->fd, target) < 0) {
            end = "error send";
            break;
        }
        memmove(req, req + hl, have - hl);
        have -= hl;
    }
    logline("end %u %s requests=%lu", c->id, end, nreq);
    close(c->fd);
    free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL, *log_path = NULL;
    unsigned timeout_s = 120;
    int i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port-file") && i + 1 < argc) port_file = argv[++i];
        else if (!strcmp(argv[i], "--log") && i + 1 < argc) log_path = argv[++i];
        else if (!strcmp(argv[i], "--head-piece") && i + 1 < argc) head_piece = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--body-piece") && i + 1 < argc) body_piece = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--pause-us") && i + 1 < argc) pause_us = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--corrupt") && i + 1 < argc) corrupt_at = atol(argv[++i]);
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout_s = (unsigned)atoi(argv[++i]);
        else usage();
    }
    if (!port_file || !log_path)
        usage();
    logf = fopen(log_path, "a");
    if (!logf) { perror(log_path); exit(1); }
    tl_alarm("reader_server", timeout_s);
    signal(SIGPIPE, SIG_IGN);

    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof sa;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 128) < 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
        perror("listen");
        exit(1);
    }
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%u\n", ntohs(sa.sin_port));
    tl_write_port_file(port_file, portstr);

    for (unsigned id = 1;; id++) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("accept");
            exit(1);
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct client *c = malloc(sizeof *c);
        if (!c) { perror("malloc"); exit(1); }
        c->fd = fd;
        c->id = id;
        logline("accept %u", id);
        pthread_t t;
        if (pthread_create(&t, NULL, serve, c) != 0) {
            perror("pthread_create");
            exit(1);
        }
        pthread_detach(t);
    }
}
