/* filter.h - destination lists (FORCECLOSE_ONLY, FORCECLOSE_EXCEPT).
 *
 * Pure code: parsing and matching, no allocation.  Address and unix entries
 * are matched against connect()'s destination; host patterns against a
 * request's Host field (the shim never resolves names). */
#ifndef FORCECLOSE_FILTER_H
#define FORCECLOSE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define FILTER_ENTRIES_MAX 64
#define FILTER_TEXT_MAX 4096	/* longest accepted list */

enum filter_kind { FILTER_IPV4, FILTER_IPV6, FILTER_UNIX, FILTER_HOST };

struct filter_entry {
	uint8_t kind;		/* enum filter_kind */
	uint8_t prefix;		/* CIDR prefix length in bits */
	bool wildcard;		/* host: "*.suffix" */
	uint16_t port;		/* 0: any */
	uint8_t addr[16];	/* network order; IPv4 in the first 4 */
	uint16_t text_off, text_len;	/* unix path or host, in text[] */
};

struct filter {
	unsigned n;
	unsigned n_hosts;	/* how many entries are host patterns */
	struct filter_entry e[FILTER_ENTRIES_MAX];
	char text[FILTER_TEXT_MAX];
};

/* What a list accepts, for error messages. */
#define FILTER_ACCEPTS                                                       \
	"comma-separated IPv4/IPv6 addresses or CIDR blocks with optional "  \
	":port ([::1]:8080), unix:/path prefixes, host names or *.domain "   \
	"patterns with optional :port"

/* Parses a list.  On error returns false and points *why at a short
 * reason and *bad / *bad_len at the offending entry inside spec. */
bool filter_parse(struct filter *f, const char *spec, const char **why,
		  const char **bad, size_t *bad_len);

/* Does the destination match an address or unix entry? */
bool filter_match_addr(const struct filter *f, const struct sockaddr *sa,
		       socklen_t len);

/* Does a Host field value ("name[:port]") match a host pattern? */
bool filter_match_host(const struct filter *f, const uint8_t *host,
		       size_t len);

#endif
