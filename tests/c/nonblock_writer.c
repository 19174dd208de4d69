/* nonblock_writer: write several large HTTP requests on a NON-BLOCKING socket
 * with a tiny SO_SNDBUF, waiting with poll() on EAGAIN, and check that every
 * write-family return value is sane:
 *   - never more than asked, never 0 for a non-empty buffer,
 *   - -1 only with errno EAGAIN/EWOULDBLOCK.
 * The write cuts are independent of request boundaries (a call may hold the
 * end of one body and the head of the next request).
 *
 * Afterwards it reads one response per request (unless --no-read) so that
 * the server has provably parsed every request.  --dump FILE writes the bytes
 * the program meant to send, for comparison with the server's log.
 *
 * Deterministic (fixed patterns and a fixed LCG for cut sizes); bounded by
 * alarm().
 */
#define _GNU_SOURCE
#include "testlib.h"

static void usage(void)
{
    fprintf(stderr,
"usage: nonblock_writer [options] ADDR\n"
"  ADDR  127.0.0.1:PORT | [::1]:PORT | unix:PATH\n"
"  --sndbuf N      SO_SNDBUF before connect (default 2048)\n"
"  --count N       number of POST requests (default 3); a GET without a body\n"
"                  always follows them\n"
"  --body BYTES    body size of each request (default 1048576)\n"
"  --chunk K       bytes per call; 1 = bytewise; 0 = varying 1..65536 (default 0)\n"
"  --call write|send|sendto|writev|sendmsg   (default write; vectored calls\n"
"                  cut their buffer into 3 iovecs)\n"
"  --aligned       also cut calls where each request starts (a head is then\n"
"                  always at the start of a call)\n"
"  --no-read       do not read responses (shutdown(SHUT_WR) at the end)\n"
"  --dump FILE     write the intended byte stream to FILE\n"
"  --dry-run       only --dump, do not connect\n"
"  --timeout S     alarm() bound (default 60)\n"
"prints a stats line: calls= eagain= short= bytes=\n");
    exit(2);
}

/* connect, then switch the socket to non-blocking */
static int connect_nonblock(const char *addr, int sndbuf)
{
    int fd = tl_connect_addr(addr, SOCK_STREAM, sndbuf);
    if (fd < 0) usage();
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) { perror("fcntl"); exit(1); }
    return fd;
}

int main(int argc, char **argv)
{
    struct tl_stream_opts o = { .sndbuf = 2048, .do_read = 1, .count = 3, .timeout = 60,
                                .body = 1048576, .call = C_WRITE };
    int aligned = 0;
    int i;
    for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
        int k = tl_stream_opt(argc, argv, &i, &o);
        if (k < 0) usage();
        if (k > 0) continue;
        if (!strcmp(argv[i], "--aligned")) aligned = 1;
        else usage();
    }
    if (o.count == 0) usage();
    tl_alarm("nonblock_writer", o.timeout);
    signal(SIGPIPE, SIG_IGN);

    size_t len;
    /* start offsets of the requests in the stream (for --aligned) */
    size_t *starts = calloc(o.count + 1, sizeof *starts);
    if (!starts) { perror("calloc"); return 1; }
    unsigned char *s = tl_build_stream(o.count, o.body, &len, starts);
    if (o.dump && tl_dump(o.dump, s, len) < 0) return 1;
    if (o.dry) return 0;
    if (i + 1 != argc) usage();
    int fd = connect_nonblock(argv[i], o.sndbuf);

    unsigned long calls = 0, eagain = 0, shorts = 0;
    uint32_t lcg = 12345;
    size_t off = 0, want = 0;
    while (off < len) {
        if (want == 0) {
            want = o.chunk ? o.chunk : tl_lcg_size(&lcg, 8, 65536);
            if (want > len - off) want = len - off;
            if (aligned)
                for (unsigned k = 0; k <= o.count; k++)
                    if (starts[k] > off && starts[k] - off < want) { want = starts[k] - off; break; }
        }
        calls++;
        errno = 0;
        ssize_t r = tl_send_call(o.call, fd, s + off, want, 3);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            eagain++;
            tl_wait_fd(fd, POLLOUT, "nonblock_writer");
            continue; /* retry the very same bytes */
        }
        if (tl_check_count("nonblock_writer", r, want, off) < 0) return 1;
        if ((size_t)r < want) shorts++;
        off += (size_t)r;
        want -= (size_t)r;
    }
    fprintf(stderr, "nonblock_writer: calls=%lu eagain=%lu short=%lu bytes=%zu\n",
            calls, eagain, shorts, len);
    printf("calls=%lu eagain=%lu short=%lu bytes=%zu\n", calls, eagain, shorts, len);
    fflush(stdout);

    if (o.do_read) {
        int rc = tl_read_responses(fd, o.count + 1, "nonblock_writer", 1);
        if (rc) return rc;
    } else {
        shutdown(fd, SHUT_WR);
    }
    close(fd);
    return 0;
}
