/* buf.h - the one growth rule of the library's byte buffers (held heads,
 * owed bytes): room for need bytes, the capacity doubling from first.
 * False when out of memory, the buffer then as it was. */
#ifndef FC_BUF_H
#define FC_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline bool buf_reserve(uint8_t **buf, size_t *cap, size_t need,
			       size_t first)
{
	size_t c = *cap ? *cap : first;
	uint8_t *b;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	b = realloc(*buf, c);
	if (b == NULL)
		return false;
	*buf = b;
	*cap = c;
	return true;
}

#endif
