/* fuzz_check.c - libFuzzer target for forceclose --check (shim/check.c):
 * the ELF reader, the #! parser (env, -S, -u), the interpreter chain.
 *
 * check.c is compiled into this file with its file system calls (stat,
 * open, access) sent to a private one of up to four files, /f0 to /f3
 * (any number of leading slashes), so no input can reach a real file;
 * PATH is "/" so that "#!/usr/bin/env f1" finds /f1.  stdout and stderr
 * are memory streams.
 *
 * Input: byte 0: bits 0-1 the number of files less one, bit 2 makes /f3
 * a FIFO (stat says so; it holds no bytes); then for each file but the
 * last a 2-byte little-endian length and its bytes; the last file takes
 * the rest.  The program checked is /f0.  Oracles, each an abort():
 *  1. the status is 0, 1 or 2 and says what was printed: 0 or 1, one
 *     verdict line on stdout starting "/f0: " with "yes - " or "no - "
 *     (and a "note:" line for a script), nothing on stderr; 2, nothing on
 *     stdout and one line on stderr starting "forceclose: --check: ";
 *  2. every byte printed is printable ASCII or the newline ending a line,
 *     whatever bytes the files hold;
 *  3. a file that is not a regular file is never opened. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuzz_common.h"

#define FILES 4

static int memfd[FILES] = { -1, -1, -1, -1 };
static int nfiles;
static bool fifo3;
static unsigned opened_fifo;
static FILE *fz_out, *fz_err;

/* "/f2", "//f2" -> 2; anything else -> -1 */
static int file_index(const char *path)
{
	while (*path == '/')
		path++;
	if (path[0] == 'f' && path[1] >= '0' && path[1] < '0' + nfiles &&
	    path[2] == '\0')
		return path[1] - '0';
	return -1;
}

static int fz_stat(const char *path, struct stat *st)
{
	int i = file_index(path);

	if (i < 0) {
		errno = ENOENT;
		return -1;
	}
	if (fstat(memfd[i], st) != 0)
		return -1;
	if (i == 3 && fifo3)
		st->st_mode = (st->st_mode & ~(mode_t)S_IFMT) | S_IFIFO;
	return 0;
}

static int fz_open(const char *path)
{
	int i = file_index(path);

	if (i < 0) {
		errno = ENOENT;
		return -1;
	}
	if (i == 3 && fifo3)
		opened_fifo++;
	return dup(memfd[i]);
}

static int fz_access(const char *path)
{
	if (file_index(path) < 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

#define stat(path, st) fz_stat(path, st)
#define open(path, ...) fz_open(path)
#define access(path, mode) fz_access(path)
#undef stdout
#undef stderr
#define stdout fz_out
#define stderr fz_err
#define printf(...) fprintf(fz_out, __VA_ARGS__)

#include "../../shim/check.c"

/* The launcher's system-call engine is not linked in: it is said to be
 * there, so that the verdicts that name it are fuzzed too. */
bool engine_available(const char **why)
{
	(void)why;
	return true;
}

#undef stat
#undef open
#undef access
#undef stdout
#undef stderr
#undef printf

static size_t lines_in(const char *p, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		CHECK(p[i] == '\n' || (p[i] >= 0x20 && p[i] < 0x7f));
		k += p[i] == '\n';
	}
	CHECK(n == 0 || p[n - 1] == '\n');
	return k;
}

static void put_file(int i, const uint8_t *p, size_t n)
{
	memfd[i] = memfd_create("fuzz_check", MFD_CLOEXEC);
	CHECK(memfd[i] >= 0);
	CHECK(n == 0 || write(memfd[i], p, n) == (ssize_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL, *err = NULL;
	size_t out_len = 0, err_len = 0, off = 1, n;
	int i, status;

	if (size < 1)
		return 0;
	setenv("PATH", "/", 1);
	nfiles = 1 + (data[0] & 3);
	fifo3 = data[0] & 4;
	opened_fifo = 0;
	for (i = 0; i < nfiles; i++) {
		if (i < nfiles - 1 && off + 2 <= size) {
			n = fuzz_u16(data + off);
			off += 2;
			if (n > size - off)
				n = size - off;
		} else {
			n = off < size ? size - off : 0;
		}
		put_file(i, data + off, n);
		off += n;
	}
	fz_out = open_memstream(&out, &out_len);
	fz_err = open_memstream(&err, &err_len);
	CHECK(fz_out != NULL && fz_err != NULL);

	status = check("/f0");

	fclose(fz_out);
	fclose(fz_err);
	if (getenv("FUZZ_DEBUG") != NULL)	/* what a seed reaches */
		fprintf(stderr, "status %d\n%.*s%.*s", status, (int)out_len,
			out, (int)err_len, err);
	CHECK(status >= 0 && status <= 2);
	CHECK(opened_fifo == 0);
	if (status == 2) {
		CHECK(out_len == 0);
		CHECK(lines_in(err, err_len) == 1);
		CHECK(strncmp(err, "forceclose: --check: ", 21) == 0);
	} else {
		size_t k = lines_in(out, out_len);
		char *nl = memchr(out, '\n', out_len);
		CHECK(err_len == 0);
		CHECK(k == 1 || (k == 2 && strncmp(nl + 1, "note: ", 6) == 0));
		CHECK(strncmp(out, "/f0: ", 5) == 0);
		*nl = '\0';
		CHECK(strstr(out, status == 0 ? ": yes - " : ": no - ") != NULL);
	}
	free(out);
	free(err);
	for (i = 0; i < nfiles; i++)
		close(memfd[i]);
	return 0;
}
