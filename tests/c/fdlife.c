/* fdlife: descriptor life-cycle scenarios for libforceclose.so.
 *
 * usage: fdlife SCENARIO ADDR EXPECTDIR
 *
 * Connects to ADDR (a recording server in sink mode), runs SCENARIO, and
 * writes into EXPECTDIR/conn-NNNN.expected the exact bytes the server must
 * have received on its N-th connection when the shim behaves as specified:
 *   rw(REQ)  = REQ with "Connection: close\r\n" inserted before the blank
 *              line that ends its head (the requests used here have no
 *              connection fields, so the rewrite is fully determined),
 *   REQ      = verbatim (pass-through).
 * EXPECTDIR/conn-NNNN.prefix instead: the connection's bytes must be a
 * prefix of that file's (possibly empty).
 * Checks that do not involve the server (bytes that went to a file, a pipe
 * or a socketpair instead) are done here: exit status 1 with a message on a
 * mismatch.  Exit status 77: a precondition (e.g. descriptor number reuse)
 * did not hold, the scenario could not be run.
 *
 * Scenarios:
 *   dup | dup2 | dup3 | dupfd | dupfd-cloexec
 *        requests written via a duplicate, via the original, then via the
 *        duplicate after the original is closed: all rewritten.
 *   dup-close-dup     close the duplicate, keep writing the original.
 *   dup-split-head    the first half of a head via the original, the rest
 *                     via a duplicate (one open file description).
 *   dup2-file-over    dup2() a regular file over the tracked number: the file
 *                     gets exact bytes; the connection had only the request
 *                     written before.
 *   dup2-file-over-mid-head
 *                     same with half a head written just before dup2(): the
 *                     half reaches the connection, the file gets exactly its
 *                     own bytes (nothing held for the socket leaks into it).
 *   close-mid-head    close() right after writing half a head: the half
 *                     arrives, nothing lost, nothing invented.
 *   close_range-mid-head   the same with close_range(fd, ~0U, 0).
 *   shutdown-mid-head the same with shutdown(SHUT_WR) before close().
 *   exit-mid-head     the same with exit() (atexit/destructors run) and no
 *                     close() at all.
 *   reuse-{socketpair,pipe,open}-{close,close_range,close_range_all}
 *                     the tracked number is closed and reused by a new
 *                     descriptor: bytes written to it arrive exactly.
 *   fdopen-after-full write() a request, fdopen(), fputs() a request,
 *                     write() another: first rewritten, the rest verbatim.
 *   fdopen-mid-head   half a head with write(), the rest with stdio: the
 *                     whole stream verbatim, in order.
 *   fdopen-mid-body   head + half a Content-Length body with write(), the
 *                     rest of the body and one more request with stdio:
 *                     head rewritten, everything else verbatim, in order.
 *   raw-close-reuse   syscall(SYS_close) behind the shim's back, the number
 *                     reused by a socket made with syscall(SYS_socket) and
 *                     connected with syscall(SYS_connect): not rewritten.
 *   raw-close-reuse-mid-head
 *                     like raw-close-reuse, but half a head was written on
 *                     the tracked socket before SYS_close: the new socket's
 *                     connection gets exactly its own bytes (none of the old
 *                     half head, no rewrite); the old connection gets a
 *                     prefix of the half head (held bytes can be lost).
 *   raw-close-reuse-file   same, reused by syscall(SYS_openat): file exact.
 *   fork              parent, child (inherited descriptor), parent again:
 *                     all rewritten.
 *
 * Bounded by alarm().
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "testlib.h"

static void usage(void)
{
    fprintf(stderr, "usage: fdlife SCENARIO ADDR EXPECTDIR   (scenarios: see source header)\n"
                    "  ADDR  127.0.0.1:PORT | [::1]:PORT | unix:PATH\n");
    exit(2);
}

static const char *g_dir;
static struct sockaddr_storage g_ss;
static socklen_t g_sl;

static void die(const char *what)
{
    fprintf(stderr, "fdlife: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void precondition(const char *what)
{
    fprintf(stderr, "fdlife: precondition failed: %s\n", what);
    exit(77);
}

/* connect through libc: the shim sees it and tracks the socket */
static int tracked_connect(void)
{
    int fd = socket(g_ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&g_ss, g_sl) < 0) die("connect");
    return fd;
}

/* ---- expected wire bytes per server connection ---- */

static int g_conns;
static FILE *g_exp[8];

/* a server connection whose bytes must equal conn-NNNN.expected exactly;
 * with suffix "prefix": must be a prefix of conn-NNNN.prefix (bytes that
 * cannot be delivered may be missing at the end, nothing may be invented) */
static void expect_conn_kind(const char *suffix)
{
    char path[4096];
    if (g_conns >= 7) abort();
    g_conns++;
    snprintf(path, sizeof path, "%s/conn-%04d.%s", g_dir, g_conns, suffix);
    g_exp[g_conns] = fopen(path, "wb");
    if (!g_exp[g_conns]) die(path);
}

static void expect_conn(void) { expect_conn_kind("expected"); }

static void expect_raw(int conn, const char *bytes)
{
    fputs(bytes, g_exp[conn]);
}

/* "GET /TAG HTTP/1.1\r\nHost: fdlife\r\n\r\n" */
static char *req(const char *tag)
{
    static char bufs[8][256];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, 256, "GET /%s HTTP/1.1\r\nHost: fdlife\r\n\r\n", tag);
    return b;
}

static void expect_rw(int conn, const char *tag)
{
    fprintf(g_exp[conn], "GET /%s HTTP/1.1\r\nHost: fdlife\r\nConnection: close\r\n\r\n", tag);
}

static void xwrite(int fd, const char *s)
{
    tl_write_all(fd, s, strlen(s), "fdlife: write");
}

/* read exactly strlen(want) bytes from fd (then check nothing more is
 * immediately readable when more_check) and compare */
static void expect_read(int fd, const char *want, const char *what)
{
    size_t n = strlen(want), o = 0;
    char got[1024];
    if (n >= sizeof got) abort();
    while (o < n) {
        ssize_t r = read(fd, got + o, sizeof got - 1 - o);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die("read back");
        if (r == 0) break;
        o += (size_t)r;
    }
    got[o] = 0;
    if (o != n || memcmp(got, want, n)) {
        fprintf(stderr, "fdlife: %s: bytes differ\n  wrote: %s\n  got:   %s\n", what, want, got);
        exit(1);
    }
}

static void check_file(const char *path, const char *want)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) die(path);
    char got[1024];
    ssize_t r = read(fd, got, sizeof got - 1);
    if (r < 0) die("read file");
    got[r] = 0;
    close(fd);
    if ((size_t)r != strlen(want) || memcmp(got, want, (size_t)r)) {
        fprintf(stderr, "fdlife: file %s differs\n  wrote: %s\n  got:   %s\n", path, want, got);
        exit(1);
    }
}

/* ---- scenarios ---- */

static int make_dup(const char *kind, int s)
{
    int d;
    if (!strcmp(kind, "dup")) d = dup(s);
    else if (!strcmp(kind, "dup2")) d = dup2(s, 40);
    else if (!strcmp(kind, "dup3")) d = dup3(s, 41, O_CLOEXEC);
    else if (!strcmp(kind, "dupfd")) d = fcntl(s, F_DUPFD, 50);
    else if (!strcmp(kind, "dupfd-cloexec")) d = fcntl(s, F_DUPFD_CLOEXEC, 60);
    else return -2;
    if (d < 0) die(kind);
    return d;
}

static void do_close(const char *how, int fd)
{
    int r = -1;
    if (!strcmp(how, "close")) r = close(fd);
    else if (!strcmp(how, "close_range")) r = close_range((unsigned)fd, (unsigned)fd, 0);
    else if (!strcmp(how, "close_range_all")) r = close_range((unsigned)fd, ~0U, 0);
    else usage();
    if (r < 0) die(how);
}

static void reuse(const char *what, const char *how)
{
    char path[4096];
    expect_conn();
    /* pipe() gives the lowest free number to the READ end; to make the WRITE
     * end take the tracked number, a placeholder holds the number just below
     * it and is closed right before pipe() */
    int hold = -1;
    if (!strcmp(what, "pipe")) {
        hold = open("/dev/null", O_RDONLY);
        if (hold < 0) die("/dev/null");
    }
    int s = tracked_connect();
    xwrite(s, req("before-reuse"));
    expect_rw(1, "before-reuse");
    do_close(how, s);
    if (hold >= 0) close(hold);   /* below s: close_range(s, ~0U) keeps it */
    const char *payload = req("after-reuse");
    if (!strcmp(what, "socketpair")) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) die("socketpair");
        int mine = sv[0] == s ? 0 : sv[1] == s ? 1 : -1;
        if (mine < 0) precondition("socketpair did not reuse the number");
        xwrite(sv[mine], payload);
        close(sv[mine]);
        expect_read(sv[1 - mine], payload, "socketpair");
    } else if (!strcmp(what, "pipe")) {
        int p[2];
        if (pipe(p) < 0) die("pipe");
        if (p[1] != s) precondition("pipe write end did not reuse the number");
        xwrite(p[1], payload);
        close(p[1]);
        expect_read(p[0], payload, "pipe");
    } else if (!strcmp(what, "open")) {
        snprintf(path, sizeof path, "%s/reuse-%s.file", g_dir, how);
        int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (f < 0) die(path);
        if (f != s) precondition("open did not reuse the number");
        xwrite(f, payload);
        close(f);
        check_file(path, payload);
    } else usage();
}

/* conn 1 gets one complete request, then `half` a head; returns the socket */
static int complete_then_half(const char *half)
{
    expect_conn();
    int s = tracked_connect();
    xwrite(s, req("complete"));         expect_rw(1, "complete");
    xwrite(s, half);                    expect_raw(1, half);
    return s;
}

/* dup2() a new file EXPECTDIR/dup2-over.file (its path into path) over s */
static void file_over(int s, char *path, size_t cap)
{
    snprintf(path, cap, "%s/dup2-over.file", g_dir);
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f < 0) die(path);
    if (dup2(f, s) != s) die("dup2");  /* closes the socket */
    close(f);
}

/* SYS_close s behind the shim's back; a socket made and connected with raw
 * syscalls must take its number.  Returns that socket. */
static int raw_reuse(int s)
{
    if (syscall(SYS_close, s) < 0) die("SYS_close");
    long t = syscall(SYS_socket, g_ss.ss_family, SOCK_STREAM, 0);
    if (t < 0) die("SYS_socket");
    if (t != s) precondition("SYS_socket did not reuse the number");
    if (syscall(SYS_connect, t, (struct sockaddr *)&g_ss, g_sl) < 0) die("SYS_connect");
    return (int)t;
}

static void close_expected(void)
{
    for (int i = 1; i <= g_conns; i++)
        if (fclose(g_exp[i])) die("fclose expected");
}

int main(int argc, char **argv)
{
    if (argc != 4) usage();
    const char *sc = argv[1];
    if (tl_parse_addr(argv[2], &g_ss, &g_sl, 1) < 0) usage();
    g_dir = argv[3];
    tl_alarm("fdlife", 20);
    signal(SIGPIPE, SIG_IGN);

    if (!strcmp(sc, "dup") || !strcmp(sc, "dup2") || !strcmp(sc, "dup3") ||
        !strcmp(sc, "dupfd") || !strcmp(sc, "dupfd-cloexec")) {
        expect_conn();
        int s = tracked_connect();
        int d = make_dup(sc, s);
        xwrite(d, req("via-dup"));          expect_rw(1, "via-dup");
        xwrite(s, req("via-orig"));         expect_rw(1, "via-orig");
        if (close(s) < 0) die("close");
        xwrite(d, req("dup-after-close"));  expect_rw(1, "dup-after-close");
        close(d);
    } else if (!strcmp(sc, "dup-close-dup")) {
        expect_conn();
        int s = tracked_connect();
        int d = dup(s);
        if (d < 0) die("dup");
        xwrite(d, req("via-dup"));          expect_rw(1, "via-dup");
        if (close(d) < 0) die("close");
        xwrite(s, req("orig-after-close")); expect_rw(1, "orig-after-close");
        close(s);
    } else if (!strcmp(sc, "dup-split-head")) {
        expect_conn();
        int s = tracked_connect();
        int d = dup(s);
        if (d < 0) die("dup");
        xwrite(s, "GET /split HTTP/1.1\r\nHo");
        xwrite(d, "st: fdlife\r\n\r\n");
        expect_rw(1, "split");
        xwrite(d, "GET /split2 HTTP/1.1\r\nHost: fdlife\r\n");
        xwrite(s, "\r\n");
        expect_rw(1, "split2");
        close(s);
        close(d);
    } else if (!strcmp(sc, "dup2-file-over")) {
        char path[4096];
        expect_conn();
        int s = tracked_connect();
        xwrite(s, req("before-dup2"));      expect_rw(1, "before-dup2");
        file_over(s, path, sizeof path);
        xwrite(s, req("into-file"));
        close(s);
        check_file(path, req("into-file"));
    } else if (!strcmp(sc, "dup2-file-over-mid-head")) {
        char path[4096];
        static const char half[] = "GET /half HTTP/1.1\r\nHost: fdlife\r\n";
        expect_conn();
        int s = tracked_connect();
        xwrite(s, req("before-dup2"));      expect_rw(1, "before-dup2");
        xwrite(s, half);                    expect_raw(1, half);
        file_over(s, path, sizeof path);
        xwrite(s, "\r\n");                /* would end the held head */
        xwrite(s, req("into-file"));
        close(s);
        char want[512];
        snprintf(want, sizeof want, "\r\n%s", req("into-file"));
        check_file(path, want);
    } else if (!strcmp(sc, "close_range-mid-head")) {
        int s = complete_then_half("GET /half HTTP/1.1\r\nHost: fdlife\r\nConnection: keep-al");
        if (close_range((unsigned)s, ~0U, 0) < 0) die("close_range");
    } else if (!strcmp(sc, "shutdown-mid-head")) {
        int s = complete_then_half("GET /half HTTP/1.1\r\nHost: fdlife\r\n");
        if (shutdown(s, SHUT_WR) < 0) die("shutdown");
        close(s);
    } else if (!strcmp(sc, "exit-mid-head")) {
        complete_then_half("GET /half HTTP/1.1\r\nHost: fdlife\r\n");
        close_expected();
        exit(0);                            /* no close(): exit() closes it */
    } else if (!strcmp(sc, "close-mid-head")) {
        int s = complete_then_half("GET /half HTTP/1.1\r\nHost: fdlife\r\nAccept: */*\r\n");
        close(s);
    } else if (!strncmp(sc, "reuse-", 6)) {
        char what[32];
        const char *rest = sc + 6, *dash = strchr(rest, '-');
        if (!dash || (size_t)(dash - rest) >= sizeof what) usage();
        memcpy(what, rest, (size_t)(dash - rest));
        what[dash - rest] = 0;
        reuse(what, dash + 1);
    } else if (!strcmp(sc, "fdopen-after-full")) {
        expect_conn();
        int s = tracked_connect();
        xwrite(s, req("before-fdopen"));    expect_rw(1, "before-fdopen");
        FILE *f = fdopen(s, "w");
        if (!f) die("fdopen");
        if (fputs(req("stdio"), f) < 0 || fflush(f)) die("fputs");
        expect_raw(1, req("stdio"));
        xwrite(s, req("write-after-fdopen"));
        expect_raw(1, req("write-after-fdopen"));
        if (fclose(f)) die("fclose");
    } else if (!strcmp(sc, "fdopen-mid-head")) {
        expect_conn();
        int s = tracked_connect();
        xwrite(s, "GET /mid HTTP/1.1\r\nHo");
        FILE *f = fdopen(s, "w");
        if (!f) die("fdopen");
        if (fputs("st: fdlife\r\n\r\n", f) < 0) die("fputs");
        if (fputs(req("stdio-next"), f) < 0) die("fputs");
        if (fclose(f)) die("fclose");
        expect_raw(1, req("mid"));
        expect_raw(1, req("stdio-next"));
    } else if (!strcmp(sc, "fdopen-mid-body")) {
        expect_conn();
        int s = tracked_connect();
        xwrite(s, "POST /body HTTP/1.1\r\nHost: fdlife\r\nContent-Length: 10\r\n\r\n");
        xwrite(s, "01234");
        FILE *f = fdopen(s, "w");
        if (!f) die("fdopen");
        if (fputs("56789", f) < 0) die("fputs");
        if (fputs(req("stdio-after-body"), f) < 0) die("fputs");
        if (fclose(f)) die("fclose");
        expect_raw(1, "POST /body HTTP/1.1\r\nHost: fdlife\r\nContent-Length: 10\r\n"
                      "Connection: close\r\n\r\n0123456789");
        expect_raw(1, req("stdio-after-body"));
    } else if (!strcmp(sc, "raw-close-reuse")) {
        expect_conn();
        expect_conn();
        int s = tracked_connect();
        xwrite(s, req("tracked"));          expect_rw(1, "tracked");
        int t = raw_reuse(s);
        xwrite(t, req("untracked"));        expect_raw(2, req("untracked"));
        xwrite(t, req("untracked-2"));      expect_raw(2, req("untracked-2"));
        close(t);
    } else if (!strcmp(sc, "raw-close-reuse-mid-head")) {
        static const char half[] = "GET /half HTTP/1.1\r\nHost: fdlife\r\nConnection: keep-";
        expect_conn_kind("prefix");
        expect_conn();
        int s = tracked_connect();
        xwrite(s, half);                    expect_raw(1, half);
        int t = raw_reuse(s);
        xwrite(t, req("untracked"));        expect_raw(2, req("untracked"));
        close(t);
    } else if (!strcmp(sc, "raw-close-reuse-file")) {
        char path[4096];
        expect_conn();
        int s = tracked_connect();
        xwrite(s, req("tracked"));          expect_rw(1, "tracked");
        if (syscall(SYS_close, s) < 0) die("SYS_close");
        snprintf(path, sizeof path, "%s/raw-reuse.file", g_dir);
        long f = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (f < 0) die("SYS_openat");
        if (f != s) precondition("SYS_openat did not reuse the number");
        xwrite((int)f, req("into-file"));
        close((int)f);
        check_file(path, req("into-file"));
    } else if (!strcmp(sc, "fork")) {
        expect_conn();
        int s = tracked_connect();
        xwrite(s, req("parent-1"));         expect_rw(1, "parent-1");
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            xwrite(s, req("child"));
            _exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) < 0) die("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "fdlife: child failed\n"); return 1; }
        expect_rw(1, "child");
        xwrite(s, req("parent-2"));         expect_rw(1, "parent-2");
        close(s);
    } else {
        usage();
    }
    close_expected();
    return 0;
}
