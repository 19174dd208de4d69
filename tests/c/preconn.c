/* preconn: HTTP exchanges on sockets the library must never touch.
 *
 * usage:
 *   preconn exec ADDR CONTROL_ADDR OUT PRELOAD
 *       connects to ADDR (in a process without the library), then execs
 *       itself with LD_PRELOAD=PRELOAD (empty: without the library) as
 *       "preconn child FD ...": the child inherits the connected socket.
 *   preconn child FD ADDR CONTROL_ADDR OUT   (ADDR: unused, for the record)
 *       two exchanges on the inherited FD (responses to OUT), then one on a
 *       new connection to CONTROL_ADDR (response to OUT.control): that one
 *       the library does handle, which shows it was there.
 *   preconn high connect|dup FD ADDR OUT
 *       raises RLIMIT_NOFILE above FD (exit 77 if the hard limit cannot be
 *       raised: "skip"), then puts the connection at descriptor FD:
 *       connect: socket(), dup2() to FD, connect() on FD;
 *       dup: connect() (a tracked number), dup2() to FD, close the first;
 *       then two exchanges on FD (responses to OUT).
 *
 * An exchange: "GET /size/N" written with write(), the response read with
 * read() until its head and Content-Length body are in (the server keeps
 * the connection, so a torn-down connection shows as a read of 0: exit 1).
 * Bounded by alarm().
 */
#define _GNU_SOURCE
#include <sys/resource.h>

#include "testlib.h"

static void exchange(int fd, int size, int out)
{
    static char buf[65536];
    char req[128];
    size_t got = 0, head = 0, clen = 0;
    int n = snprintf(req, sizeof req, "GET /size/%d HTTP/1.1\r\nHost: preconn\r\n\r\n", size);

    tl_write_all(fd, req, (size_t)n, "write request");
    while (!head || got < head + clen) {
        ssize_t r = read(fd, buf + got, sizeof buf - got < 1000 ? sizeof buf - got : 1000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "preconn: read %zd (%s) after %zu bytes\n", r, r ? strerror(errno) : "EOF", got);
            exit(1);
        }
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

static int open_out(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { perror(path); exit(2); }
    return fd;
}

int main(int argc, char **argv)
{
    tl_alarm("preconn", 30);
    signal(SIGPIPE, SIG_IGN);
    if (argc == 6 && !strcmp(argv[1], "exec")) {
        int fd = tl_connect_addr(argv[2], SOCK_STREAM, 0);
        char fds[16];
        if (fd < 0) return 2;
        snprintf(fds, sizeof fds, "%d", fd);
        if (argv[5][0]) setenv("LD_PRELOAD", argv[5], 1);
        else unsetenv("LD_PRELOAD");
        char *args[] = { argv[0], "child", fds, argv[2], argv[3], argv[4], NULL };
        execv("/proc/self/exe", args);
        perror("execv");
        return 1;
    }
    if (argc == 6 && !strcmp(argv[1], "child")) {
        int fd = atoi(argv[2]), out = open_out(argv[5]);
        char path[4096];
        (void)argv[3];
        exchange(fd, 3000, out);
        exchange(fd, 10, out);
        close(fd);
        snprintf(path, sizeof path, "%s.control", argv[5]);
        int co = open_out(path);
        int c = tl_connect_addr(argv[4], SOCK_STREAM, 0);
        if (c < 0) return 2;
        exchange(c, 20, co);
        close(c);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "high")) {
        int hfd = atoi(argv[3]), out = open_out(argv[5]), s;
        struct rlimit rl = { (rlim_t)hfd + 1, (rlim_t)hfd + 1 };
        struct sockaddr_storage ss;
        socklen_t sl;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            char nr[32] = "?";
            int e = errno, f = open("/proc/sys/fs/nr_open", O_RDONLY);
            if (f >= 0) { ssize_t k = read(f, nr, sizeof nr - 1); nr[k > 0 ? k - 1 : 0] = 0; close(f); }
            printf("cannot raise RLIMIT_NOFILE to %d: %s (fs.nr_open is %s)\n", hfd + 1,
                   strerror(e), nr);
            return 77;
        }
        if (tl_parse_addr(argv[4], &ss, &sl, 1) < 0) return 2;
        if (!strcmp(argv[2], "connect")) {
            if ((s = socket(ss.ss_family, SOCK_STREAM, 0)) < 0) { perror("socket"); return 1; }
            if (dup2(s, hfd) != hfd) { perror("dup2"); return 1; }
            close(s);
            if (connect(hfd, (struct sockaddr *)&ss, sl) < 0) { perror("connect"); return 1; }
        } else {
            s = tl_connect_addr(argv[4], SOCK_STREAM, 0);
            if (s < 0) return 2;
            if (dup2(s, hfd) != hfd) { perror("dup2"); return 1; }
            close(s);
        }
        exchange(hfd, 3000, out);
        exchange(hfd, 10, out);
        close(hfd);
        return 0;
    }
    fprintf(stderr, "usage: preconn exec ADDR CONTROL_ADDR OUT PRELOAD | "
                    "preconn high connect|dup FD ADDR OUT\n");
    return 2;
}
