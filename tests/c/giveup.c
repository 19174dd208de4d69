/* giveup: two requests on one keep-alive connection, the first exchange
 * using a call the library documents as a give-up (README, "Never
 * truncate"), the second plain write()/read().  Every response byte read
 * goes to OUT, so that a run under libforceclose.so can be compared with a
 * run without it: the connection must pass through byte-exact and must not
 * be torn down (the second exchange works).
 *
 * usage: giveup MODE 127.0.0.1:PORT OUT
 * MODE:
 *   dprintf   the first request written with dprintf()
 *   vdprintf  the same with vdprintf()
 *             (both called through pointers: the plain libc functions)
 *   dprintf-chk, vdprintf-chk  the same called directly: this file is built
 *             with -D_FORTIFY_SOURCE=2, so these are __dprintf_chk() and
 *             __vdprintf_chk(), what most distributions' programs call
 *   oob       one urgent byte (send MSG_OOB) before the first request
 *   recvmmsg  the first response read with recvmmsg()
 *   waitall   its first 10 bytes read with recv(MSG_WAITALL)
 *   trunc     recv(MSG_PEEK | MSG_TRUNC) before reading it
 *
 * Responses are read until the head and its Content-Length body are in
 * (the server keeps the connection).  Exit 0, or 1 with a message (a read
 * returning 0 or an error: the connection was ended).  Bounded by alarm().
 */
#define _GNU_SOURCE
#include <stdarg.h>

#include "testlib.h"

static int out;

/* through pointers: the fortify macros apply to direct calls only */
static int (*volatile p_dprintf)(int, const char *, ...) = dprintf;
static int (*volatile p_vdprintf)(int, const char *, va_list) = vdprintf;

static int my_vdprintf(int chk, int fd, const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = chk ? vdprintf(fd, fmt, ap) : p_vdprintf(fd, fmt, ap);
    va_end(ap);
    return r;
}

/* one response, read with `how` for the first bytes (0: read()) */
static void response(int fd, const char *how)
{
    static char buf[65536];
    size_t got = 0, head = 0, clen = 0;
    int first = 1;

    while (!head || got < head + clen) {
        ssize_t r;
        size_t room = sizeof buf - got;
        if (room == 0) { fprintf(stderr, "response too big\n"); exit(1); }
        if (first && !strcmp(how, "recvmmsg")) {
            struct iovec v = { buf + got, room };
            struct mmsghdr mm = { .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1 } };
            int k = recvmmsg(fd, &mm, 1, 0, NULL);
            r = k == 1 ? (ssize_t)mm.msg_len : k;
        } else if (first && !strcmp(how, "waitall")) {
            r = recv(fd, buf + got, 10, MSG_WAITALL);
        } else {
            if (first && !strcmp(how, "trunc")) {
                char c;
                tl_wait_fd(fd, POLLIN, "giveup");
                ssize_t p = recv(fd, &c, 1, MSG_PEEK | MSG_TRUNC);
                if (p <= 0) { fprintf(stderr, "peek: %zd (%s)\n", p, strerror(errno)); exit(1); }
            }
            r = read(fd, buf + got, room < 100 ? room : 100);
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "%s: %zd (%s) after %zu bytes\n", how, r, r ? strerror(errno) : "EOF", got);
            exit(1);
        }
        first = 0;
        got += (size_t)r;
        if (!head) {
            char *e = memmem(buf, got, "\r\n\r\n", 4);
            if (e) {
                head = (size_t)(e - buf) + 4;
                char *cl = strcasestr(buf, "\r\ncontent-length:");
                if (!cl || cl > e) { fprintf(stderr, "no Content-Length\n"); exit(1); }
                clen = strtoul(cl + 17, NULL, 10);
            }
        }
    }
    if (got != head + clen) { fprintf(stderr, "read past the response\n"); exit(1); }
    tl_write_all(out, buf, got, "write out");
}

int main(int argc, char **argv)
{
    static const char R1[] = "GET /size/%d HTTP/1.1\r\nHost: giveup\r\n\r\n";
    static const char R2[] = "GET /second HTTP/1.1\r\nHost: giveup\r\n\r\n";
    char req[256];

    if (argc != 4) {
        fprintf(stderr, "usage: giveup dprintf|vdprintf|dprintf-chk|vdprintf-chk|oob|recvmmsg|waitall|trunc 127.0.0.1:PORT OUT\n");
        return 2;
    }
    const char *mode = argv[1];
    tl_alarm("giveup", 30);
    signal(SIGPIPE, SIG_IGN);
    out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) { perror(argv[3]); return 2; }
    int fd = tl_connect_addr(argv[2], SOCK_STREAM, 0);
    if (fd < 0) return 2;

    int n = snprintf(req, sizeof req, R1, 3000);
    if (!strcmp(mode, "dprintf")) {
        if (p_dprintf(fd, R1, 3000) != n) { perror("dprintf"); return 1; }
    } else if (!strcmp(mode, "dprintf-chk")) {
        if (dprintf(fd, R1, 3000) != n) { perror("dprintf"); return 1; }
    } else if (!strcmp(mode, "vdprintf") || !strcmp(mode, "vdprintf-chk")) {
        if (my_vdprintf(!strcmp(mode, "vdprintf-chk"), fd, R1, 3000) != n) { perror("vdprintf"); return 1; }
    } else {
        if (!strcmp(mode, "oob") && send(fd, "!", 1, MSG_OOB) != 1) { perror("send MSG_OOB"); return 1; }
        tl_write_all(fd, req, (size_t)n, "write request 1");
    }
    response(fd, mode);
    tl_write_all(fd, R2, sizeof R2 - 1, "write request 2");
    response(fd, "read");
    close(fd);
    return 0;
}
