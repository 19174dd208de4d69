/* minimal_preload.c - the reference of figure 2d (fig_cycles.sh): the
 * least a preload can do for bench_client's exchange, and nothing more.
 * socket() marks the number; send() of a whole request head adds
 * "Connection: close" (one sendmsg); recv() of a whole response head adds
 * it there too and shuts the socket down once the Content-Length body is
 * in; close() unmarks.  One thread, whole heads in one call, the bench
 * client's heads only: not a product, and not safe for anything else.
 * What the library costs beyond this preload is what its generality
 * (pieces, pipelining, threads, signals, fork, identity, filters,
 * counters) costs; this preload's own cycles are the floor of any.
 * Built with -DBURN_CYCLES=K (figure 2e, fig_preload_ladder.sh), each
 * recv() first spins K TSC cycles: what K cycles of a preload's own time
 * cost the exchange rate.  With -DBURN_CODE_LINES=K it runs K jumps
 * instead, each to a code line of its own, 256 bytes on (no sequential
 * prefetch); with -DBURN_DATA_LINES=K it reads one byte of K data lines:
 * what K cache lines of a preload's footprint cost, cold after the
 * kernel's part of the exchange. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

static const char close_line[] = "Connection: close\r\n";
#define CLOSE_LEN (sizeof close_line - 1)
#define FDS 4096

static unsigned char marked[FDS];

static int (*next_socket)(int, int, int);
static int (*next_close)(int);
static int (*next_shutdown)(int, int);
static ssize_t (*next_send)(int, const void *, size_t, int);
static ssize_t (*next_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*next_recv)(int, void *, size_t, int);

__attribute__((constructor)) static void resolve(void)
{
	next_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	next_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	next_shutdown = (int (*)(int, int))dlsym(RTLD_NEXT, "shutdown");
	next_send = (ssize_t (*)(int, const void *, size_t, int))
		dlsym(RTLD_NEXT, "send");
	next_sendmsg = (ssize_t (*)(int, const struct msghdr *, int))
		dlsym(RTLD_NEXT, "sendmsg");
	next_recv = (ssize_t (*)(int, void *, size_t, int))
		dlsym(RTLD_NEXT, "recv");
}

#ifdef BURN_CYCLES
#include <x86intrin.h>
static void burn(void)
{
	unsigned long long t0 = __rdtsc();

	while (__rdtsc() - t0 < BURN_CYCLES)
		;
}
#elif defined BURN_CODE_LINES
#define STR_(x) #x
#define STR(x) STR_(x)
static void burn(void)
{
	__asm__ volatile(".rept " STR(BURN_CODE_LINES) "\n\t"
			 "jmp 1f\n\t.p2align 8\n1:\n\t.endr" ::: "memory");
}
#elif defined BURN_DATA_LINES
static volatile unsigned char burn_data[BURN_DATA_LINES * 256];
static void burn(void)
{
	for (int i = 0; i < BURN_DATA_LINES; i++)
		(void)burn_data[i * 256];
}
#else
static void burn(void)
{
}
#endif

static int is_marked(int fd)
{
	return fd >= 0 && fd < FDS && marked[fd];
}

int socket(int domain, int type, int protocol)
{
	int fd = next_socket(domain, type, protocol);

	if (fd >= 0 && fd < FDS)
		marked[fd] = (type & 0xf) == SOCK_STREAM;
	return fd;
}

int close(int fd)
{
	if (fd >= 0 && fd < FDS)
		marked[fd] = 0;
	return next_close(fd);
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	const char *b = buf, *end;
	struct iovec v[3];
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 3 };
	size_t fields;
	ssize_t s;

	if (!is_marked(fd) || !(end = memmem(b, n, "\r\n\r\n", 4)))
		return next_send(fd, buf, n, flags);
	fields = (size_t)(end - b) + 2;	/* through the last field's CRLF */
	v[0] = (struct iovec){ (void *)b, fields };
	v[1] = (struct iovec){ (void *)close_line, CLOSE_LEN };
	v[2] = (struct iovec){ (void *)(b + fields), n - fields };
	s = next_sendmsg(fd, &m, flags);
	return s == (ssize_t)(n + CLOSE_LEN) ? (ssize_t)n : s;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	char *b = buf, *end, *length;
	size_t fields, body;
	ssize_t r;

	if (!is_marked(fd) || n <= CLOSE_LEN)
		return next_recv(fd, buf, n, flags);
	burn();
	r = next_recv(fd, buf, n - CLOSE_LEN, flags);
	if (r <= 0 || !(end = memmem(b, (size_t)r, "\r\n\r\n", 4)))
		return r;
	fields = (size_t)(end - b) + 2;
	length = memmem(b, fields, "Content-Length: ", 16);
	body = (size_t)r - fields - 2;
	memmove(b + fields + CLOSE_LEN, b + fields, (size_t)r - fields);
	memcpy(b + fields, close_line, CLOSE_LEN);
	if (length == NULL || strtoul(length + 16, NULL, 10) <= body)
		next_shutdown(fd, SHUT_RDWR);	/* the response is complete */
	return r + (ssize_t)CLOSE_LEN;
}
