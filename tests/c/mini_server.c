/* mini_server: tiny loopback server for the pass-through tests.
 *
 *  --send FILE    accept --conns connections one after the other; on each,
 *                 write FILE's bytes (with --call/--chunk), shutdown(SHUT_WR),
 *                 read until the client's EOF, close.  Run under
 *                 libforceclose.so it checks that ACCEPTED sockets are never
 *                 rewritten even when they carry HTTP-request-looking text.
 *  --record DIR   TCP/unix: accept --conns connections one after the other
 *                 and store each one's bytes in DIR/conn-NNNN.raw until EOF.
 *                 --udp: receive --conns datagrams into DIR/dgram-NNNN.raw.
 *  --reuse-fd-of ADDR
 *                 before accepting, connect() to ADDR (a tracked socket for
 *                 the shim) and close() it, so the accepted socket is likely
 *                 to get the same descriptor number; prints whether it did.
 *
 * The port (or path) is written to --port-file once listening.  Bounded by
 * alarm().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr,
"usage: mini_server --port-file F [--host 127.0.0.1|::1|unix:PATH] [--udp]\n"
"                   (--send FILE | --record DIR) [--conns N]\n"
"                   [--call write|send|sendto|writev|sendmsg] [--chunk K]\n"
"                   [--reuse-fd-of ADDR] [--timeout S]\n");
    exit(2);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "mini_server: timeout\n";
    if (write(2, m, sizeof m - 1)) {}
    _exit(3);
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sl)
{
    memset(ss, 0, sizeof *ss);
    if (!strncmp(addr, "unix:", 5)) {
        struct sockaddr_un *su = (struct sockaddr_un *)ss;
        su->sun_family = AF_UNIX;
        if (strlen(addr + 5) >= sizeof su->sun_path) usage();
        strcpy(su->sun_path, addr + 5);
        *sl = sizeof *su;
        return 0;
    }
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host) usage();
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { h[hl - 1] = 0; h++; }
    int port = atoi(colon + 1);
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
    } else usage();
    return 0;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); exit(2); }
    struct stat st;
    if (fstat(fd, &st) < 0) { perror("fstat"); exit(1); }
    unsigned char *p = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, p + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { perror("read"); exit(1); }
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return p;
}

static void write_all_to(int fd, const unsigned char *p, size_t len)
{
    for (size_t o = 0; o < len;) {
        ssize_t r = write(fd, p + o, len - o);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { perror("write"); exit(1); }
        o += (size_t)r;
    }
}

int main(int argc, char **argv)
{
    const char *port_file = NULL, *host = "127.0.0.1", *send_file = NULL,
               *record = NULL, *reuse = NULL, *callname = "write";
    int udp = 0, conns = 1;
    size_t chunk = 65536;
    unsigned timeout = 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--port-file") && i + 1 < argc) port_file = argv[++i];
        else if (!strcmp(a, "--host") && i + 1 < argc) host = argv[++i];
        else if (!strcmp(a, "--udp")) udp = 1;
        else if (!strcmp(a, "--send") && i + 1 < argc) send_file = argv[++i];
        else if (!strcmp(a, "--record") && i + 1 < argc) record = argv[++i];
        else if (!strcmp(a, "--conns") && i + 1 < argc) conns = atoi(argv[++i]);
        else if (!strcmp(a, "--call") && i + 1 < argc) callname = argv[++i];
        else if (!strcmp(a, "--chunk") && i + 1 < argc) { chunk = strtoul(argv[++i], NULL, 10); if (!chunk) usage(); }
        else if (!strcmp(a, "--reuse-fd-of") && i + 1 < argc) reuse = argv[++i];
        else if (!strcmp(a, "--timeout") && i + 1 < argc) timeout = (unsigned)atoi(argv[++i]);
        else usage();
    }
    if (!port_file || (!send_file == !record) || conns <= 0) usage();
    if (udp && !record) usage();
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(timeout);

    struct sockaddr_storage ss;
    socklen_t sl;
    char spec[160];
    int is_unix = !strncmp(host, "unix:", 5);
    if (is_unix) snprintf(spec, sizeof spec, "%s", host);
    else if (strchr(host, ':')) snprintf(spec, sizeof spec, "[%s]:0", host);
    else snprintf(spec, sizeof spec, "%s:0", host);
    parse_addr(spec, &ss, &sl);
    int ls = socket(ss.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (ls < 0) { perror("socket"); return 1; }
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&ss, sl) < 0) { perror("bind"); return 1; }
    if (!udp && listen(ls, 16) < 0) { perror("listen"); return 1; }
    char portstr[160];
    if (is_unix) snprintf(portstr, sizeof portstr, "%s\n", host + 5);
    else {
        struct sockaddr_storage b;
        socklen_t bl = sizeof b;
        getsockname(ls, (struct sockaddr *)&b, &bl);
        int port = b.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&b)->sin_port)
                                          : ntohs(((struct sockaddr_in6 *)&b)->sin6_port);
        snprintf(portstr, sizeof portstr, "%d\n", port);
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    int pf = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (pf < 0) { perror(tmp); return 1; }
    write_all_to(pf, (unsigned char *)portstr, strlen(portstr));
    close(pf);
    if (rename(tmp, port_file) < 0) { perror("rename"); return 1; }

    if (udp) {
        for (int n = 1; n <= conns; n++) {
            static unsigned char dg[65536];
            ssize_t r = recv(ls, dg, sizeof dg, 0);
            if (r < 0 && errno == EINTR) { n--; continue; }
            if (r < 0) { perror("recv"); return 1; }
            char path[4096];
            snprintf(path, sizeof path, "%s/dgram-%04d.raw", record, n);
            int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (out < 0) { perror(path); return 1; }
            write_all_to(out, dg, (size_t)r);
            close(out);
        }
        return 0;
    }

    size_t slen = 0;
    unsigned char *sbuf = send_file ? slurp(send_file, &slen) : NULL;

    for (int n = 1; n <= conns; n++) {
        int reused_num = -1;
        if (reuse) {
            struct sockaddr_storage rs;
            socklen_t rl;
            parse_addr(reuse, &rs, &rl);
            int c = socket(rs.ss_family, SOCK_STREAM, 0);
            if (c < 0 || connect(c, (struct sockaddr *)&rs, rl) < 0) { perror("reuse connect"); return 1; }
            reused_num = c;
            close(c);
        }
        int s = accept(ls, NULL, NULL);
        if (s < 0 && errno == EINTR) { n--; continue; }
        if (s < 0) { perror("accept"); return 1; }
        if (reuse)
            fprintf(stderr, "mini_server: accepted fd %d, closed tracked fd was %d (%s)\n",
                    s, reused_num, s == reused_num ? "reused" : "not reused");
        if (record) {
            char path[4096];
            snprintf(path, sizeof path, "%s/conn-%04d.raw", record, n);
            int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (out < 0) { perror(path); return 1; }
            for (;;) {
                static unsigned char b[65536];
                ssize_t r = read(s, b, sizeof b);
                if (r < 0 && errno == EINTR) continue;
                if (r < 0) { perror("read"); return 1; }
                if (r == 0) break;
                write_all_to(out, b, (size_t)r);
            }
            close(out);
        } else {
            size_t off = 0;
            while (off < slen) {
                size_t want = slen - off < chunk ? slen - off : chunk;
                ssize_t r = -1;
                if (!strcmp(callname, "write")) r = write(s, sbuf + off, want);
                else if (!strcmp(callname, "send")) r = send(s, sbuf + off, want, MSG_NOSIGNAL);
                else if (!strcmp(callname, "sendto")) r = sendto(s, sbuf + off, want, MSG_NOSIGNAL, NULL, 0);
                else if (!strcmp(callname, "writev") || !strcmp(callname, "sendmsg")) {
                    struct iovec iov[2];
                    iov[0].iov_base = sbuf + off;            iov[0].iov_len = want / 2;
                    iov[1].iov_base = sbuf + off + want / 2; iov[1].iov_len = want - want / 2;
                    if (callname[4] == 'v') r = writev(s, iov, 2);
                    else {
                        struct msghdr m;
                        memset(&m, 0, sizeof m);
                        m.msg_iov = iov;
                        m.msg_iovlen = 2;
                        r = sendmsg(s, &m, MSG_NOSIGNAL);
                    }
                } else usage();
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0 || (size_t)r > want) { perror("send"); return 1; }
                off += (size_t)r;
            }
            shutdown(s, SHUT_WR);
            for (;;) {
                char b[4096];
                ssize_t r = read(s, b, sizeof b);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) break;
            }
        }
        close(s);
    }
    close(ls);
    return 0;
}
