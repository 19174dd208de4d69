/* eintr_writer: write large HTTP requests on a BLOCKING socket with a small
 * SO_SNDBUF while setitimer(ITIMER_REAL) fires SIGALRM every ~1 ms into a
 * handler installed WITHOUT SA_RESTART.  Blocked writes therefore return
 * early: -1/EINTR when nothing was sent, a short count otherwise.  The
 * program retries exactly like a careful program (same bytes after EINTR,
 * the remainder after a short write) and checks every return value:
 * never more than asked, never 0, -1 only with EINTR.
 *
 * The request stream is the same as nonblock_writer's (same --count/--body
 * gives the same bytes).  After writing it stops the timer and reads one
 * response per request (unless --no-read).
 *
 * Because ITIMER_REAL is busy, the overall time bound is a watchdog thread
 * (SIGALRM blocked in it) instead of alarm().
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/time.h>
#include <time.h>

#include "testlib.h"

static void usage(void)
{
    fprintf(stderr,
"usage: eintr_writer [options] ADDR\n"
"  ADDR  127.0.0.1:PORT | [::1]:PORT | unix:PATH\n"
"  --sndbuf N       SO_SNDBUF before connect (default 4096)\n"
"  --count N        number of POST requests (default 3); a GET without a\n"
"                   body always follows them\n"
"  --body BYTES     body size of each request (default 1048576)\n"
"  --chunk K        bytes per call; 0 = varying 1..262144 (default 0)\n"
"  --call write|send|sendto|writev|sendmsg   (default write)\n"
"  --interval-us U  SIGALRM period (default 1000)\n"
"  --no-read        do not read responses\n"
"  --dump FILE      write the intended byte stream to FILE\n"
"  --dry-run        only --dump\n"
"  --timeout S      watchdog bound (default 60)\n"
"prints a stats line: calls= eintr= short= signals= bytes=\n");
    exit(2);
}

static volatile sig_atomic_t g_signals;
static void on_alrm(int sig) { (void)sig; g_signals++; }

static unsigned g_timeout = 60;
static void *watchdog(void *arg)
{
    (void)arg;
    struct timespec ts = { .tv_sec = g_timeout, .tv_nsec = 0 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
    static const char m[] = "eintr_writer: timeout\n";
    if (write(2, m, sizeof m - 1)) {}
    _exit(3);
    return NULL;
}

int main(int argc, char **argv)
{
    struct tl_stream_opts o = { .sndbuf = 4096, .do_read = 1, .count = 3, .timeout = 60,
                                .body = 1048576, .call = C_WRITE };
    long interval = 1000;
    int i;
    for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
        int k = tl_stream_opt(argc, argv, &i, &o);
        if (k < 0) usage();
        if (k > 0) continue;
        if (!strcmp(argv[i], "--interval-us") && i + 1 < argc) interval = atol(argv[++i]);
        else usage();
    }
    if (o.count == 0 || interval <= 0) usage();
    g_timeout = o.timeout;

    size_t len;
    unsigned char *s = tl_build_stream(o.count, o.body, &len, NULL);
    if (o.dump && tl_dump(o.dump, s, len) < 0) return 1;
    if (o.dry) return 0;
    if (i + 1 != argc) usage();

    /* watchdog thread with SIGALRM blocked, so SIGALRM hits the writer */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_t th;
    if (pthread_create(&th, NULL, watchdog, NULL)) { fprintf(stderr, "pthread_create\n"); return 1; }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sa.sa_flags = 0;            /* no SA_RESTART: blocked calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);

    int fd = tl_connect_addr(argv[i], SOCK_STREAM, o.sndbuf);
    if (fd < 0) usage();

    struct itimerval it = { { 0, interval }, { 0, interval } };
    setitimer(ITIMER_REAL, &it, NULL);

    unsigned long calls = 0, eintr = 0, shorts = 0;
    uint32_t lcg = 777;
    size_t off = 0, want = 0;
    while (off < len) {
        if (want == 0) {
            want = o.chunk ? o.chunk : tl_lcg_size(&lcg, 4, 262144);
            if (want > len - off) want = len - off;
        }
        calls++;
        ssize_t r = tl_send_call(o.call, fd, s + off, want, 3);
        if (r < 0 && errno == EINTR) { eintr++; continue; }
        if (tl_check_count("eintr_writer", r, want, off) < 0) return 1;
        if ((size_t)r < want) shorts++;
        off += (size_t)r;
        want -= (size_t)r;
    }
    struct itimerval stop = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &stop, NULL);
    fprintf(stderr, "eintr_writer: calls=%lu eintr=%lu short=%lu signals=%ld bytes=%zu\n",
            calls, eintr, shorts, (long)g_signals, len);
    printf("calls=%lu eintr=%lu short=%lu signals=%ld bytes=%zu\n",
           calls, eintr, shorts, (long)g_signals, len);
    fflush(stdout);

    if (o.do_read) {
        int rc = tl_read_responses(fd, o.count + 1, "eintr_writer", 0);
        if (rc) return rc;
    } else {
        shutdown(fd, SHUT_WR);
    }
    close(fd);
    return 0;
}
