/* errno_check: return values and errno of failing (and zero-length)
 * write-family calls, printed one line per case as "CASE ret=R errno=NAME",
 * so that a run under libforceclose.so can be compared line by line with a
 * run without it ("errno as libc").
 *
 * usage: errno_check [--groups G1,G2... | --efault] ADDR
 *
 * ADDR is a recording server (sink mode is fine).  The program connects
 * (a tracked socket for the shim), runs the cases, then writes one complete
 * request "GET /after-errors HTTP/1.1" so that the wire shows whether the
 * shim's state survived the failed calls, then exercises EPIPE (and SIGPIPE
 * in a child) after shutdown(SHUT_WR).
 * Groups of cases (default badfd,args,zero,splice):
 *   badfd   descriptors that are not sockets / not open (EBADF, ENOTSOCK)
 *   args    bad counts on the tracked socket (EINVAL, EMSGSIZE)
 *   zero    zero-length calls on the tracked socket (return 0)
 *   splice  sendfile()/splice() from an invalid descriptor (EBADF)
 *   efault  invalid buffer pointers on the tracked socket before any request
 *           byte (the kernel answers EFAULT; a shim reading the buffer itself
 *           must not crash); --efault is --groups efault
 * Bounded by alarm().
 */
#define _GNU_SOURCE
#include <sys/sendfile.h>
#include <sys/wait.h>

#include "testlib.h"

static void usage(void)
{
    fprintf(stderr, "usage: errno_check [--groups badfd,args,zero,splice,efault | --efault] ADDR\n"
                    "  ADDR  127.0.0.1:PORT | [::1]:PORT | unix:PATH\n");
    exit(2);
}

static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EPIPE: return "EPIPE";
    case EMSGSIZE: return "EMSGSIZE";
    case EAGAIN: return "EAGAIN";
    case ENOTCONN: return "ENOTCONN";
    case EISCONN: return "EISCONN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ESPIPE: return "ESPIPE";
    case ECONNRESET: return "ECONNRESET";
    default: {
        static char b[32];
        snprintf(b, sizeof b, "errno%d", e);
        return b;
    }
    }
}

static void report(const char *name, long r)
{
    int e = r < 0 ? errno : 0;
    printf("%s ret=%ld errno=%s\n", name, r, ename(e));
    fflush(stdout);
}

static int has(const char *list, const char *g)
{
    size_t n = strlen(g);
    for (const char *p = list; (p = strstr(p, g)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *groups = "badfd,args,zero,splice";
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--efault")) groups = "efault";
        else if (!strcmp(argv[i], "--groups") && i + 1 < argc) groups = argv[++i];
        else usage();
    }
    if (i + 1 != argc) usage();
    tl_alarm("errno_check", 20);
    signal(SIGPIPE, SIG_IGN);

    static const char X[] = "xyz";
    /* volatile: keep the compiler from rejecting deliberately bad arguments */
    volatile int negcnt = -1;
    void *volatile nullp = NULL;
    struct iovec *volatile badiov = (struct iovec *)8;
    struct msghdr *volatile badmsg = (struct msghdr *)8;
    int s = tl_connect_addr(argv[i], SOCK_STREAM, 0);
    if (s < 0) usage();
    struct iovec iov[2] = { { (void *)X, 1 }, { (void *)(X + 1), 2 } };
    struct msghdr m;
    static struct iovec big[1100];
    for (int k = 0; k < 1100; k++) { big[k].iov_base = (void *)X; big[k].iov_len = 0; }

    if (has(groups, "badfd")) {
        /* descriptors that are not (or no longer) sockets */
        errno = 0; report("write-minus1", write(-1, X, 3));
        errno = 0; report("send-minus1", send(-1, X, 3, 0));
        errno = 0; report("writev-minus1", writev(-1, iov, 2));
        int dn = open("/dev/null", O_WRONLY);
        errno = 0; report("send-devnull", send(dn, X, 3, 0));
        errno = 0; report("sendto-devnull", sendto(dn, X, 3, 0, NULL, 0));
        memset(&m, 0, sizeof m); m.msg_iov = iov; m.msg_iovlen = 2;
        errno = 0; report("sendmsg-devnull", sendmsg(dn, &m, 0));
        errno = 0; report("write-devnull", write(dn, X, 3));
        int closed = dup(dn);
        close(closed);
        errno = 0; report("write-closedfd", write(closed, X, 3));
        close(dn);
    }
    if (has(groups, "args")) {
        /* bad arguments on the tracked socket, before any request byte */
        errno = 0; report("writev-negcnt", writev(s, iov, negcnt));
        errno = 0; report("writev-1025", writev(s, big, 1025));
        memset(&m, 0, sizeof m); m.msg_iov = big; m.msg_iovlen = 1100;
        errno = 0; report("sendmsg-1100", sendmsg(s, &m, 0));
    }
    if (has(groups, "zero")) {
        errno = 0; report("write-zero", write(s, X, 0));
        errno = 0; report("send-zero", send(s, X, 0, 0));
        errno = 0; report("writev-zero", writev(s, iov, 0));
        errno = 0; report("writev-zerolen", writev(s, big, 5));
        errno = 0; report("sendmmsg-zero", sendmmsg(s, NULL, 0, 0));
    }
    if (has(groups, "splice")) {
        /* failing sendfile/splice: nothing is sent */
        errno = 0; report("sendfile-badin", sendfile(s, -1, NULL, 3));
        errno = 0; report("splice-badin", splice(-1, NULL, s, NULL, 3, 0));
    }
    if (has(groups, "efault")) {
        errno = 0; report("write-null", write(s, nullp, 5));
        errno = 0; report("send-null", send(s, nullp, 5, 0));
        struct iovec bad[2] = { { NULL, 4 }, { (void *)X, 3 } };
        errno = 0; report("writev-nullbase", writev(s, bad, 2));
        errno = 0; report("writev-badptr", writev(s, badiov, 2));
        memset(&m, 0, sizeof m); m.msg_iov = bad; m.msg_iovlen = 2;
        errno = 0; report("sendmsg-nullbase", sendmsg(s, &m, 0));
        errno = 0; report("sendmsg-badmsg", sendmsg(s, badmsg, 0));
    }

    /* a valid request: must still be recognised as the stream's start */
    static const char REQ[] = "GET /after-errors HTTP/1.1\r\nHost: errno\r\n\r\n";
    errno = 0; report("write-request", write(s, REQ, sizeof REQ - 1));

    /* EPIPE after shutdown(SHUT_WR) */
    if (shutdown(s, SHUT_WR) < 0) { perror("shutdown"); return 1; }
    static const char REQ2[] = "GET /after-shutdown HTTP/1.1\r\nHost: errno\r\n\r\n";
    errno = 0; report("write-after-shutdown", write(s, REQ2, sizeof REQ2 - 1));
    errno = 0; report("send-after-shutdown", send(s, REQ2, sizeof REQ2 - 1, MSG_NOSIGNAL));
    errno = 0; report("writev-after-shutdown", writev(s, iov, 2));

    /* SIGPIPE is raised (default disposition) in a child */
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        ssize_t r = write(s, REQ2, sizeof REQ2 - 1);
        _exit(r < 0 ? 10 : 11);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) printf("child-write-after-shutdown signal=%d\n", WTERMSIG(st));
    else printf("child-write-after-shutdown exit=%d\n", WEXITSTATUS(st));
    pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        ssize_t r = send(s, REQ2, sizeof REQ2 - 1, MSG_NOSIGNAL);
        _exit(r < 0 && errno == EPIPE ? 10 : 11);
    }
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) printf("child-send-nosignal signal=%d\n", WTERMSIG(st));
    else printf("child-send-nosignal exit=%d\n", WEXITSTATUS(st));
    close(s);
    return 0;
}
