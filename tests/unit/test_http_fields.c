/* Unit tests of the word-at-a-time helpers in http_fields.h against
 * byte-by-byte definitions: the case-insensitive compare with every
 * literal the rewriter uses, every byte value at every position; the text,
 * visible and tchar skips over every boundary byte at every offset and
 * length (so every word split and tail), and over every byte value at
 * every position of a word; field lines split and trimmed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_fields.h"

static int failures, checks;

static void check(int ok, const char *what, const char *detail)
{
	checks++;
	if (!ok) {
		failures++;
		if (failures <= 20)
			printf("FAIL %s: %s\n", what, detail);
	}
}

static int ref_eq(const uint8_t *p, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t c = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
		if (c != (uint8_t)lit[i])
			return 0;
	}
	return 1;
}

static const char *const literals[] = {
	"host", "upgrade", "connection", "keep-alive", "authorization",
	"content-length", "proxy-connection", "transfer-encoding",
	"proxy-authorization", "close", "ntlm", "negotiate", "chunked",
	"te", "a", "x-1", "http2-settings",
};

static void test_token_eq(void)
{
	size_t k, i, n;
	unsigned v;
	char detail[128];

	for (k = 0; k < sizeof literals / sizeof literals[0]; k++) {
		const char *lit = literals[k];
		uint8_t buf[32];
		n = strlen(lit);
		/* every byte value at every position, from the literal and
		 * from its upper-case form */
		for (int upper = 0; upper < 2; upper++) {
			for (i = 0; i < n; i++)
				buf[i] = upper && lit[i] >= 'a' && lit[i] <= 'z' ?
					 (uint8_t)(lit[i] - 32) : (uint8_t)lit[i];
			check(http_token_eq(buf, n, lit), lit, "same word");
			for (i = 0; i < n; i++) {
				uint8_t keep = buf[i];
				for (v = 0; v < 256; v++) {
					buf[i] = (uint8_t)v;
					snprintf(detail, sizeof detail,
						 "byte %zu = 0x%02x", i, v);
					check(http_token_eq(buf, n, lit) ==
						      ref_eq(buf, n, lit),
					      lit, detail);
				}
				buf[i] = keep;
			}
			/* other lengths never match */
			check(!http_token_eq(buf, n ? n - 1 : 0, lit), lit,
			      "shorter");
			buf[n] = 'x';
			check(!http_token_eq(buf, n + 1, lit), lit, "longer");
		}
	}
}

/* kind 1: text, 0: visible, 2: tchar (RFC 9110, written out) */
static int ref_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t ref_skip(const uint8_t *p, size_t j, size_t n, int kind)
{
	while (j < n && (kind == 2 ? ref_tchar(p[j]) :
			 kind == 1 ? (p[j] == '\t' || (p[j] >= 0x20 && p[j] != 0x7f))
				   : (p[j] > 0x20 && p[j] != 0x7f)))
		j++;
	return j;
}

static void check_skips(const uint8_t *buf, size_t j, size_t n,
			const char *detail)
{
	check(http_skip_text(buf, j, n) == ref_skip(buf, j, n, 1),
	      "skip_text", detail);
	check(http_skip_visible(buf, j, n) == ref_skip(buf, j, n, 0),
	      "skip_visible", detail);
	check(http_skip_tchar(buf, j, n) == ref_skip(buf, j, n, 2),
	      "skip_tchar", detail);
}

static void test_skips(void)
{
	static const uint8_t edge[] = { 0x00, 0x09, 0x0a, 0x0d, 0x1f, 0x20,
					0x21, 0x41, 0x7e, 0x7f, 0x80, 0xfe,
					0xff, ':', '-', '0', '9', '"', '@',
					'[', '`', '{', '|', 'Z', 'z', 0xc1,
					0xe1, 0xad, 0x2c, 0x5b, 0x60 };
	uint8_t buf[48];
	size_t n, j, pos;
	unsigned e, round;
	char detail[128];

	srand(16);
	/* one boundary byte in a run of text, at every position, for every
	 * start and length: every word split and every tail */
	for (e = 0; e < sizeof edge; e++)
		for (pos = 0; pos < 40; pos++)
			for (n = pos; n <= 40; n++)
				for (j = 0; j <= n && j <= 17; j++) {
					memset(buf, 'a', sizeof buf);
					if (pos < n)
						buf[pos] = edge[e];
					snprintf(detail, sizeof detail,
						 "0x%02x at %zu, from %zu to %zu",
						 edge[e], pos, j, n);
					check_skips(buf, j, n, detail);
				}
	/* every byte value at every position of a run of letters */
	for (pos = 0; pos < 16; pos++)
		for (e = 0; e < 256; e++)
			for (j = 0; j < 3; j++) {
				memset(buf, 'k', sizeof buf);
				buf[pos] = (uint8_t)e;
				snprintf(detail, sizeof detail,
					 "0x%02x at %zu, from %zu", e, pos, j);
				check_skips(buf, j, 20, detail);
			}
	/* random mixes of boundary bytes and text */
	for (round = 0; round < 200000; round++) {
		n = (size_t)rand() % 41;
		for (j = 0; j < n; j++)
			buf[j] = rand() % 4 ? (uint8_t)(0x20 + rand() % 0x5f)
					    : rand() % 2 ? edge[rand() % sizeof edge]
							 : (uint8_t)rand();
		j = n ? (size_t)rand() % n : 0;
		snprintf(detail, sizeof detail, "round %u", round);
		check_skips(buf, j, n, detail);
	}
}

static void field(const char *line, const char *name, const char *value,
		  size_t eol)
{
	struct http_field f;
	size_t pos = 0, len = strlen(line);
	int got = http_next_field((const uint8_t *)line, len, &pos, &f);

	check(got && f.name_len == strlen(name) &&
	      memcmp(f.line, name, f.name_len) == 0 &&
	      f.value_len == strlen(value) &&
	      memcmp(f.value, value, f.value_len) == 0 && f.eol_len == eol &&
	      f.line_len == len && pos == len,
	      "next_field", line);
}

static void test_next_field(void)
{
	struct http_field f;
	size_t pos = 0;

	field("Host: example\r\n", "Host", "example", 2);
	field("Host:example\n", "Host", "example", 1);
	field("A: \t b c \t \r\n", "A", "b c", 2);
	field("Empty:\r\n", "Empty", "", 2);
	field("Empty: \t \n", "Empty", "", 1);
	field("X-Long: 0123456789abcdef0123456789abcdef\tz\r\n", "X-Long",
	      "0123456789abcdef0123456789abcdef\tz", 2);
	field("O: \x80\xff\r\n", "O", "\x80\xff", 2);
	check(!http_next_field((const uint8_t *)"\r\n", 2, &pos, &f) &&
	      pos == 2 && f.line_len == 2, "next_field", "CRLF ends");
	pos = 0;
	check(!http_next_field((const uint8_t *)"\n", 1, &pos, &f) &&
	      pos == 1 && f.line_len == 1, "next_field", "LF ends");
}

int main(void)
{
	test_token_eq();
	test_skips();
	test_next_field();
	printf("http_fields: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
