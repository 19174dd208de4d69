/* standalone.c - main() for the fuzz targets without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on each file named on the command line, so
 * that seeds and crashers replay with any C compiler (regress.sh). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (f == NULL)
		return NULL;
	do {
		if (*len == cap) {
			uint8_t *b = realloc(buf, cap = cap ? 2 * cap : 4096);
			if (b == NULL)
				break;
			buf = b;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	if (ferror(f) || buf == NULL) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		size_t len;
		uint8_t *data = slurp(argv[i], &len);

		if (data == NULL) {
			perror(argv[i]);
			return 2;
		}
		/* named first: an oracle aborts the process */
		fprintf(stderr, "input %s\n", argv[i]);
		LLVMFuzzerTestOneInput(data, len);
		free(data);
	}
	printf("%d inputs ran\n", argc - 1);
	return 0;
}
