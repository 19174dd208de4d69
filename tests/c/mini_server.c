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
#include "testlib.h"

static void usage(void)
{
    fprintf(stderr,
"usage: mini_server --port-file F [--host 127.0.0.1|::1|unix:PATH] [--udp]\n"
"                   (--send FILE | --record DIR) [--conns N]\n"
"                   [--call write|send|sendto|writev|sendmsg] [--chunk K]\n"
"                   [--reuse-fd-of ADDR] [--timeout S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *port_file = NULL, *host = "127.0.0.1", *send_file = NULL,
               *record = NULL, *reuse = NULL;
    enum tl_call call = C_WRITE;
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
        else if (!strcmp(a, "--call") && i + 1 < argc) {
            int c = tl_parse_call(argv[++i], CALLS_PLAIN);
            if (c < 0) usage();
            call = (enum tl_call)c;
        }
        else if (!strcmp(a, "--chunk") && i + 1 < argc) { chunk = strtoul(argv[++i], NULL, 10); if (!chunk) usage(); }
        else if (!strcmp(a, "--reuse-fd-of") && i + 1 < argc) reuse = argv[++i];
        else if (!strcmp(a, "--timeout") && i + 1 < argc) timeout = (unsigned)atoi(argv[++i]);
        else usage();
    }
    if (!port_file || (!send_file == !record) || conns <= 0) usage();
    if (udp && !record) usage();
    tl_alarm("mini_server", timeout);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_storage ss;
    socklen_t sl;
    char spec[160];
    int is_unix = !strncmp(host, "unix:", 5);
    if (is_unix) snprintf(spec, sizeof spec, "%s", host);
    else if (strchr(host, ':')) snprintf(spec, sizeof spec, "[%s]:0", host);
    else snprintf(spec, sizeof spec, "%s:0", host);
    if (tl_parse_addr(spec, &ss, &sl, 0) < 0) usage();
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
    tl_write_port_file(port_file, portstr);

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
            tl_write_all(out, dg, (size_t)r, "write");
            close(out);
        }
        return 0;
    }

    size_t slen = 0;
    unsigned char *sbuf = send_file ? tl_read_file(send_file, &slen) : NULL;

    for (int n = 1; n <= conns; n++) {
        int reused_num = -1;
        if (reuse) {
            int c = tl_connect_addr(reuse, SOCK_STREAM, 0);
            if (c < 0) usage();
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
            tl_copy_to_eof(s, out);
            close(out);
        } else {
            size_t off = 0;
            while (off < slen) {
                size_t want = slen - off < chunk ? slen - off : chunk;
                ssize_t r = tl_send_call(call, s, sbuf + off, want, 2);
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
