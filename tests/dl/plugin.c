/* tests/dl/plugin.c - a plugin (tests/dlopen.bats loads it): one HTTP/1.1
 * request on a new connection, keep-alive, read to the end of its
 * Content-Length body.  Returns 1 if the response said close, 0 if not,
 * -1 on any failure. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int plugin_request(int port)
{
	static const char req[] = "GET /dl HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET };
	char buf[8192], *end = NULL, *cl;
	size_t n = 0, want;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0), said_close;

	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
		return -1;
	while (end == NULL) {
		r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	*end = '\0';
	cl = strcasestr(buf, "\r\ncontent-length:");
	if (cl == NULL)
		return -1;
	want = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
	said_close = strcasestr(buf, "\r\nconnection: close") != NULL;
	while (n < want) {
		r = read(fd, buf, sizeof buf < want - n ? sizeof buf : want - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	close(fd);
	return said_close;
}
