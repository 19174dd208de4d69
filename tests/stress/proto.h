/* proto.h - what the stress client and its server agree on.
 *
 * Request:  METHOD SP /KIND/N/TAG SP HTTP/1.1 CRLF
 *           Host: stress CRLF  [X-Fill: x... CRLF]  CRLF
 * (plus the Connection: close the shim adds).  KIND is cl (Content-Length
 * body of N bytes), ch (chunked body of N bytes), hold (Content-Length,
 * sent in two halves, each after a release) or rel (releases stage N of the
 * hold request TAG).  Every body byte comes from a generator seeded by the
 * tag, so a body that reaches the wrong request does not verify. */
#ifndef STRESS_PROTO_H
#define STRESS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define TAG_MAX 48		/* bytes of a tag, NUL included */
#define FILL_MAX 12000		/* longest X-Fill value */
#define BODY_MAX 200000		/* largest N */

static inline uint32_t tag_hash(const char *tag)
{
	uint32_t h = 2166136261u;

	while (*tag != '\0')
		h = (h ^ (uint8_t)*tag++) * 16777619u;
	return h != 0 ? h : 1;
}

/* xorshift32: body bytes are lower-case letters */
struct pattern {
	uint32_t s;
};

static inline void pattern_init(struct pattern *p, const char *tag)
{
	p->s = tag_hash(tag);
}

static inline uint32_t pattern_word(struct pattern *p)
{
	p->s ^= p->s << 13;
	p->s ^= p->s >> 17;
	p->s ^= p->s << 5;
	return p->s;
}

static inline uint8_t pattern_byte(struct pattern *p)
{
	return (uint8_t)('a' + pattern_word(p) % 26);
}

static inline int tag_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '-';
}

#endif
