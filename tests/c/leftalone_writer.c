/* leftalone_writer: a request head the library leaves alone (Upgrade, or
 * CONNECT) of 60 KB, written in ONE call on a NON-BLOCKING socket that
 * cannot take it all (small SO_SNDBUF, a peer whose small receive buffer
 * is not read yet).  The kernel returns a short count at once; so must the
 * library (the head is the program's bytes, unchanged: what the kernel did
 * not take is the program's to write again).  The program then writes the
 * rest as a careful program does while its own in-process peer reads, and
 * checks the peer got the head exactly.
 *
 * usage: leftalone_writer upgrade|connect
 * prints "lib=0|1 first=N of L exact=0|1"; exit 0 when the run completed
 * (the test judges the numbers).  Bounded by alarm().
 */
#define _GNU_SOURCE
#include "testlib.h"

int main(int argc, char **argv)
{
    static char head[61000], got[61000];
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t al = sizeof a;
    int small = 4096, ls, cs, ss, n;
    size_t off = 0, in = 0;
    ssize_t first, r;

    if (argc != 2 || (strcmp(argv[1], "upgrade") && strcmp(argv[1], "connect"))) {
        fprintf(stderr, "usage: leftalone_writer upgrade|connect\n");
        return 2;
    }
    tl_alarm("leftalone_writer", 20);
    signal(SIGPIPE, SIG_IGN);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    /* the listener's receive buffer is the accepted socket's */
    if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) < 0 ||
        bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
        perror("listener");
        return 1;
    }
    if ((cs = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        setsockopt(cs, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) < 0 ||
        connect(cs, (struct sockaddr *)&a, sizeof a) < 0 ||
        (ss = accept(ls, NULL, NULL)) < 0) {
        perror("connect");
        return 1;
    }
    fcntl(cs, F_SETFL, fcntl(cs, F_GETFL) | O_NONBLOCK);
    if (!strcmp(argv[1], "upgrade"))
        n = sprintf(head, "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nX-Pad: ");
    else
        n = sprintf(head, "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\nX-Pad: ");
    memset(head + n, 'A', 60000);
    n += 60000;
    n += sprintf(head + n, "\r\n\r\n");

    first = write(cs, head, (size_t)n);
    if (first < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        perror("first write");
        return 1;
    }
    off = first > 0 ? (size_t)first : 0;
    /* the rest, as a careful program writes it, while the peer reads */
    fcntl(ss, F_SETFL, fcntl(ss, F_GETFL) | O_NONBLOCK);
    while (in < (size_t)n) {
        if (off < (size_t)n) {
            r = write(cs, head + off, (size_t)n - off);
            if (r > 0)
                off += (size_t)r;
            else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                perror("write");
                return 1;
            }
        }
        r = read(ss, got + in, sizeof got - in);
        if (r > 0)
            in += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            fprintf(stderr, "peer read: %zd after %zu\n", r, in);
            return 1;
        }
    }
    printf("lib=%d first=%zd of %d exact=%d\n", tl_lib_loaded(), first, n,
           in == (size_t)n && memcmp(got, head, (size_t)n) == 0);
    return 0;
}
