/* raw_client: connect (TCP, AF_UNIX stream, or connected UDP) and send the
 * contents of the given files in order, with a chosen write-family call and
 * chunking; optionally read everything the peer sends until EOF into a file.
 *
 * Each FILE starts a fresh series of calls (no call crosses a file
 * boundary), so "first bytes written" are exactly the first file's first
 * chunk.  With --udp every call is one datagram.
 *
 * Used by tests/passthrough.bats: under libforceclose.so anything that is not
 * an HTTP/1.x request stream must arrive byte-identical.  Bounded by alarm().
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "testlib.h"

static void usage(void)
{
    fprintf(stderr,
"usage: raw_client [options] ADDR [FILE...]\n"
"  ADDR  127.0.0.1:PORT | [::1]:PORT | unix:PATH\n"
"  --call write|send|sendto|writev|sendmsg|sendfile|splice  (default write)\n"
"  --chunk K          bytes per call (default 65536)\n"
"  --random-chunks S  chunk sizes 1..8192 from a fixed LCG seeded with S\n"
"  --udp              connected UDP socket; each call is one datagram\n"
"  --recv-to FILE     after sending, read until EOF into FILE\n"
"  --no-shutdown      do not shutdown(SHUT_WR) after sending\n"
"  --timeout S        alarm() bound (default 30)\n");
    exit(2);
}

/* splice needs a pipe holding the bytes; bytes put in the pipe but not yet
 * spliced stay there for the next call */
static int pp[2] = { -1, -1 };
static size_t pipe_from, pipe_to;   /* offsets (in the current file) held in the pipe */

static ssize_t do_call(enum tl_call c, int fd, int filefd, const unsigned char *p,
                       size_t off, size_t want)
{
    switch (c) {
    case C_SENDFILE: {
        off_t o = (off_t)off;
        ssize_t r = sendfile(fd, filefd, &o, want);
        if (r >= 0 && o != (off_t)off + r) {
            fprintf(stderr, "raw_client: sendfile offset %lld, expected %lld\n",
                    (long long)o, (long long)off + (long long)r);
            exit(1);
        }
        return r;
    }
    case C_SPLICE: {
        if (pipe_from == pipe_to) {
            size_t n = want < 65536 ? want : 65536;
            tl_write_all(pp[1], p + off, n, "pipe write");
            pipe_from = off;
            pipe_to = off + n;
        }
        if (pipe_from != off) { fprintf(stderr, "raw_client: splice bookkeeping\n"); exit(1); }
        size_t n = pipe_to - pipe_from;
        if (n > want) n = want;
        ssize_t r = splice(pp[0], NULL, fd, NULL, n, 0);
        if (r > 0) pipe_from += (size_t)r;
        return r;
    }
    default:
        return tl_send_call(c, fd, p + off, want, 3);
    }
}

int main(int argc, char **argv)
{
    enum tl_call call = C_WRITE;
    size_t chunk = 65536;
    uint32_t seed = 0;
    int random_chunks = 0, udp = 0, do_shutdown = 1;
    unsigned timeout = 30;
    const char *recv_to = NULL;
    int i;
    for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--call") && i + 1 < argc) {
            int c = tl_parse_call(argv[++i], CALLS_PLAIN | CALL_BIT(C_SENDFILE) | CALL_BIT(C_SPLICE));
            if (c < 0) usage();
            call = (enum tl_call)c;
        }
        else if (!strcmp(a, "--chunk") && i + 1 < argc) { chunk = strtoul(argv[++i], NULL, 10); if (!chunk) usage(); }
        else if (!strcmp(a, "--random-chunks") && i + 1 < argc) { random_chunks = 1; seed = (uint32_t)strtoul(argv[++i], NULL, 10); }
        else if (!strcmp(a, "--udp")) udp = 1;
        else if (!strcmp(a, "--recv-to") && i + 1 < argc) recv_to = argv[++i];
        else if (!strcmp(a, "--no-shutdown")) do_shutdown = 0;
        else if (!strcmp(a, "--timeout") && i + 1 < argc) timeout = (unsigned)atoi(argv[++i]);
        else usage();
    }
    if (i >= argc) usage();
    tl_alarm("raw_client", timeout);
    signal(SIGPIPE, SIG_IGN);
    if (call == C_SPLICE && pipe(pp) < 0) { perror("pipe"); return 1; }

    int fd = tl_connect_addr(argv[i++], udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (fd < 0) usage();
    size_t total = 0;
    unsigned long calls = 0;
    for (; i < argc; i++) {
        int ffd = open(argv[i], O_RDONLY);
        if (ffd < 0) { perror(argv[i]); return 2; }
        struct stat st;
        if (fstat(ffd, &st) < 0) { perror("fstat"); return 1; }
        size_t len = (size_t)st.st_size;
        unsigned char *p = NULL;
        if (len) {
            p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, ffd, 0);
            if (p == MAP_FAILED) { perror("mmap"); return 1; }
        }
        pipe_from = pipe_to = 0;
        size_t off = 0, want = 0;
        while (off < len) {
            if (want == 0) {
                want = random_chunks ? tl_lcg_size(&seed, 8, 8192) : chunk;
                if (want > len - off) want = len - off;
            }
            calls++;
            ssize_t r = do_call(call, fd, ffd, p, off, want);
            if (r < 0 && errno == EINTR) continue;
            if (tl_check_count("raw_client", r, want, off) < 0) return 1;
            if (udp && (size_t)r != want) {
                fprintf(stderr, "raw_client: short datagram\n");
                return 1;
            }
            off += (size_t)r;
            want -= (size_t)r;
        }
        total += len;
        if (p) munmap(p, len);
        close(ffd);
    }
    fprintf(stderr, "raw_client: sent %zu bytes in %lu calls\n", total, calls);
    if (do_shutdown && !udp && shutdown(fd, SHUT_WR) < 0) { perror("shutdown"); return 1; }
    if (recv_to) {
        int out = open(recv_to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0) { perror(recv_to); return 1; }
        tl_copy_to_eof(fd, out);
        close(out);
    }
    if (close(fd) < 0) { perror("close"); return 1; }
    return 0;
}
