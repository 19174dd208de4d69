/* filter.c - destination lists: parsing and matching. */
#define _GNU_SOURCE
#include "filter.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/un.h>

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch + 'a' - 'A') : ch;
}

/* Decimal digits only, value in [lo, hi]. */
static bool parse_number(const char *p, size_t n, unsigned lo, unsigned hi,
			 unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_port(const char *p, size_t n, struct filter_entry *e,
		       const char **why)
{
	unsigned v;

	if (!parse_number(p, n, 1, 65535, &v)) {
		*why = "port must be 1-65535";
		return false;
	}
	e->port = (uint16_t)v;
	return true;
}

/* "addr" or "addr/prefix" of the given family into e. */
static bool parse_cidr(const char *p, size_t n, int family,
		       struct filter_entry *e, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = memchr(p, '/', n);
	size_t alen = slash ? (size_t)(slash - p) : n;
	unsigned bits = family == AF_INET ? 32 : 128, prefix = bits, i;

	if (alen >= sizeof buf) {
		*why = "bad address";
		return false;
	}
	memcpy(buf, p, alen);
	buf[alen] = '\0';
	if (inet_pton(family, buf, e->addr) != 1) {
		*why = family == AF_INET ? "bad IPv4 address" :
					   "bad IPv6 address";
		return false;
	}
	if (slash && !parse_number(slash + 1, n - alen - 1, 0, bits, &prefix)) {
		*why = "bad prefix length";
		return false;
	}
	e->kind = family == AF_INET ? FILTER_IPV4 : FILTER_IPV6;
	e->prefix = (uint8_t)prefix;
	/* host bits past the prefix are ignored, as routers do */
	for (i = prefix; i < bits; i++)
		e->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return true;
}

static bool host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
}

static bool looks_ipv4(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '.' ||
		      p[i] == '/'))
			return false;
	return n > 0;
}

static bool store_text(struct filter *f, unsigned *used, const char *p,
		       size_t n, struct filter_entry *e, const char **why)
{
	if (*used + n > sizeof f->text) {
		*why = "list too long";
		return false;
	}
	memcpy(f->text + *used, p, n);
	e->text_off = (uint16_t)*used;
	e->text_len = (uint16_t)n;
	*used += (unsigned)n;
	return true;
}

/* A host pattern: "name" or "*.name"; labels non-empty. */
static bool parse_host(struct filter *f, unsigned *used, const char *p,
		       size_t n, struct filter_entry *e, const char **why)
{
	size_t i;

	e->kind = FILTER_HOST;
	if (n >= 2 && p[0] == '*' && p[1] == '.') {
		e->wildcard = true;
		p += 2;
		n -= 2;
	}
	if (n == 0 || n > 253 || p[0] == '.' || p[n - 1] == '.') {
		*why = "bad host name pattern";
		return false;
	}
	for (i = 0; i < n; i++)
		if (!host_char(p[i]) || (p[i] == '.' && p[i + 1] == '.')) {
			*why = "bad host name pattern";
			return false;
		}
	return store_text(f, used, p, n, e, why);
}

static bool parse_entry(struct filter *f, unsigned *used, const char *p,
			size_t n, struct filter_entry *e, const char **why)
{
	const char *colon, *close;

	memset(e, 0, sizeof *e);
	if (n >= 5 && memcmp(p, "unix:", 5) == 0) {
		e->kind = FILTER_UNIX;
		if (n == 5 || (p[5] != '/' && p[5] != '@')) {
			*why = "unix: needs a /path or @name";
			return false;
		}
		return store_text(f, used, p + 5, n - 5, e, why);
	}
	if (p[0] == '[') {
		close = memchr(p, ']', n);
		if (close == NULL) {
			*why = "missing ]";
			return false;
		}
		if (!parse_cidr(p + 1, (size_t)(close - p - 1), AF_INET6, e, why))
			return false;
		if ((size_t)(close - p) + 1 == n)
			return true;
		if (close[1] != ':') {
			*why = "expected :port after ]";
			return false;
		}
		return parse_port(close + 2, n - (size_t)(close - p) - 2, e, why);
	}
	colon = memchr(p, ':', n);
	if (colon && memchr(colon + 1, ':', n - (size_t)(colon - p) - 1))
		return parse_cidr(p, n, AF_INET6, e, why);	/* bare IPv6 */
	if (colon) {
		if (!parse_port(colon + 1, n - (size_t)(colon - p) - 1, e, why))
			return false;
		n = (size_t)(colon - p);
	}
	if (looks_ipv4(p, n))
		return parse_cidr(p, n, AF_INET, e, why);
	return parse_host(f, used, p, n, e, why);
}

bool filter_parse(struct filter *f, const char *spec, const char **why,
		  const char **bad, size_t *bad_len)
{
	const char *p = spec;
	unsigned used = 0;

	memset(f, 0, sizeof *f);
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		*bad = p;
		*bad_len = n;
		while (n > 0 && is_space(*p)) {
			p++;
			n--;
		}
		while (n > 0 && is_space(p[n - 1]))
			n--;
		if (n > 0)
			*bad = p, *bad_len = n;
		if (n == 0) {
			*why = "empty entry";
			return false;
		}
		if (f->n == FILTER_ENTRIES_MAX) {
			*why = "more than 64 entries";
			return false;
		}
		if (!parse_entry(f, &used, p, n, &f->e[f->n], why))
			return false;
		if (f->e[f->n].kind == FILTER_HOST)
			f->n_hosts++;
		f->n++;
		if (end == NULL)
			return true;
		p = end + 1;
	}
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff00u >> rest);

	return memcmp(a, b, whole) == 0 &&
	       (rest == 0 || ((a[whole] ^ b[whole]) & mask) == 0);
}

static bool match_ip(const struct filter *f, int kind, const uint8_t *addr,
		     uint16_t port)
{
	unsigned i;

	for (i = 0; i < f->n; i++) {
		const struct filter_entry *e = &f->e[i];
		if (e->kind == kind && (e->port == 0 || e->port == port) &&
		    prefix_equal(e->addr, addr, e->prefix))
			return true;
	}
	return false;
}

static bool match_unix(const struct filter *f, const struct sockaddr_un *sun,
		       socklen_t len)
{
	size_t off = offsetof(struct sockaddr_un, sun_path), n;
	char name[sizeof sun->sun_path + 1];
	unsigned i;

	if (len <= off)
		return false;
	n = len - off;
	if (n > sizeof sun->sun_path)
		n = sizeof sun->sun_path;
	if (sun->sun_path[0] == '\0') {	/* abstract: shown as @name */
		name[0] = '@';
		memcpy(name + 1, sun->sun_path + 1, n - 1);
	} else {
		n = strnlen(sun->sun_path, n);
		memcpy(name, sun->sun_path, n);
	}
	for (i = 0; i < f->n; i++) {
		const struct filter_entry *e = &f->e[i];
		if (e->kind == FILTER_UNIX && e->text_len <= n &&
		    memcmp(f->text + e->text_off, name, e->text_len) == 0)
			return true;
	}
	return false;
}

bool filter_match_addr(const struct filter *f, const struct sockaddr *sa,
		       socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		return match_ip(f, FILTER_IPV4, (const uint8_t *)&in->sin_addr,
				ntohs(in->sin_port));
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const uint8_t *a = in6->sin6_addr.s6_addr;
		uint16_t port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
		    match_ip(f, FILTER_IPV4, a + 12, port))
			return true;
		return match_ip(f, FILTER_IPV6, a, port);
	}
	if (sa->sa_family == AF_UNIX)
		return match_unix(f, (const void *)sa, len);
	return false;
}

static bool name_equal(const char *a, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(a[i]) != lower((char)b[i]))
			return false;
	return true;
}

bool filter_match_host(const struct filter *f, const uint8_t *host,
		       size_t len)
{
	size_t n = len, i;
	unsigned port = 80, k;
	const uint8_t *colon = NULL;

	if (f->n_hosts == 0)
		return false;
	/* the port follows the last ':' unless it is inside [v6] */
	for (i = len; i > 0; i--) {
		if (host[i - 1] == ':') {
			colon = host + i - 1;
			break;
		}
		if (host[i - 1] == ']')
			break;
	}
	if (colon) {
		n = (size_t)(colon - host);
		if (!parse_number((const char *)colon + 1, len - n - 1, 1,
				  65535, &port))
			return false;
	}
	if (n > 0 && host[n - 1] == '.')	/* a fully qualified name */
		n--;
	for (k = 0; k < f->n; k++) {
		const struct filter_entry *e = &f->e[k];
		const char *t = f->text + e->text_off;
		size_t tl = e->text_len;
		if (e->kind != FILTER_HOST || (e->port && e->port != port))
			continue;
		if (!e->wildcard && tl == n && name_equal(t, host, n))
			return true;
		if (e->wildcard && n > tl + 1 && host[n - tl - 1] == '.' &&
		    name_equal(t, host + n - tl, tl))
			return true;
	}
	return false;
}
