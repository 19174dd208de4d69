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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

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

enum call { C_WRITE, C_SEND, C_SENDTO, C_WRITEV, C_SENDMSG, C_SENDFILE, C_SPLICE };

static int connect_addr(const char *addr, int type)
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
    int fd = socket(ss.ss_family, type, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) { perror("connect"); exit(1); }
    return fd;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "raw_client: timeout\n";
    if (write(2, m, sizeof m - 1)) {}
    _exit(3);
}

/* splice needs a pipe holding the bytes; bytes put in the pipe but not yet
 * spliced stay there for the next call */
static int pp[2] = { -1, -1 };
static size_t pipe_from, pipe_to;   /* offsets (in the current file) held in the pipe */

static ssize_t do_call(enum call c, int fd, int filefd, const unsigned char *p,
                       size_t off, size_t want)
{
    switch (c) {
    case C_WRITE: return write(fd, p + off, want);
    case C_SEND: return send(fd, p + off, want, MSG_NOSIGNAL);
    case C_SENDTO: return sendto(fd, p + off, want, MSG_NOSIGNAL, NULL, 0);
    case C_WRITEV:
    case C_SENDMSG: {
        struct iovec iov[3];
        size_t a = want / 3, b = want / 3;
        iov[0].iov_base = (void *)(p + off);         iov[0].iov_len = a;
        iov[1].iov_base = (void *)(p + off + a);     iov[1].iov_len = b;
        iov[2].iov_base = (void *)(p + off + a + b); iov[2].iov_len = want - a - b;
        if (c == C_WRITEV) return writev(fd, iov, 3);
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = iov;
        m.msg_iovlen = 3;
        return sendmsg(fd, &m, MSG_NOSIGNAL);
    }
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
            size_t w = 0;
            while (w < n) {
                ssize_t r = write(pp[1], p + off + w, n - w);
                if (r < 0) { if (errno == EINTR) continue; perror("pipe write"); exit(1); }
                w += (size_t)r;
            }
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
    }
    abort();
}

int main(int argc, char **argv)
{
    enum call call = C_WRITE;
    size_t chunk = 65536;
    uint32_t seed = 0;
    int random_chunks = 0, udp = 0, do_shutdown = 1;
    unsigned timeout = 30;
    const char *recv_to = NULL;
    int i;
    for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--call") && i + 1 < argc) {
            const char *c = argv[++i];
            if (!strcmp(c, "write")) call = C_WRITE;
            else if (!strcmp(c, "send")) call = C_SEND;
            else if (!strcmp(c, "sendto")) call = C_SENDTO;
            else if (!strcmp(c, "writev")) call = C_WRITEV;
            else if (!strcmp(c, "sendmsg")) call = C_SENDMSG;
            else if (!strcmp(c, "sendfile")) call = C_SENDFILE;
            else if (!strcmp(c, "splice")) call = C_SPLICE;
            else usage();
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
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(timeout);
    if (call == C_SPLICE && pipe(pp) < 0) { perror("pipe"); return 1; }

    int fd = connect_addr(argv[i++], udp ? SOCK_DGRAM : SOCK_STREAM);
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
                if (random_chunks) {
                    seed = seed * 1103515245u + 12345u;
                    want = 1 + (seed >> 8) % 8192;
                } else want = chunk;
                if (want > len - off) want = len - off;
            }
            calls++;
            ssize_t r = do_call(call, fd, ffd, p, off, want);
            if (r < 0) {
                if (errno == EINTR) continue;
                fprintf(stderr, "raw_client: call failed at %zu: %s\n", off, strerror(errno));
                return 1;
            }
            if (r == 0 || (size_t)r > want) {
                fprintf(stderr, "raw_client: call returned %zd for %zu bytes\n", r, want);
                return 1;
            }
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
        char buf[65536];
        for (;;) {
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) { perror("read"); return 1; }
            if (r == 0) break;
            for (ssize_t w = 0; w < r;) {
                ssize_t k = write(out, buf + w, (size_t)(r - w));
                if (k < 0) { if (errno == EINTR) continue; perror("write"); return 1; }
                w += k;
            }
        }
        close(out);
    }
    if (close(fd) < 0) { perror("close"); return 1; }
    return 0;
}
