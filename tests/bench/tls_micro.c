/* tls_micro.c - what an untracked SSL * costs per call (fig_tls.sh).
 *
 *   tls_micro CERT KEY CALLS [SIZE]
 *
 * A client and a server session in one process over an OpenSSL memory
 * BIO pair (no socket, no system call in the loop).  The client offers
 * ALPN h2 and opens as an h2 client does (the 24-byte preface is its first
 * write), so under the library its session takes exactly the path an h2
 * session takes: decided at that write, passed for good.  Then the server
 * writes 16 KiB records and the client takes them back in CALLS
 * SSL_read_ex calls of SIZE bytes each (1 by default: per call, OpenSSL
 * copies one byte out of a record it has already decrypted, so the hook's
 * own cost is as large a part of the call as it can be; 16384: one record
 * decrypted per call, a bulk stream without the socket).  Prints
 * "ns-per-call X" (the process's CPU time over the loop, including the
 * server's writes and the encryption, divided by CALLS) and "alpn h2". */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *what)
{
	fprintf(stderr, "tls_micro: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static int alpn_h2(SSL *s, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned inlen, void *arg)
{
	(void)s;
	(void)arg;
	if (inlen >= 3 && memcmp(in, "\x02h2", 3) == 0) {
		*out = in + 1;
		*outlen = 2;
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

int main(int argc, char **argv)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static unsigned char block[16384], got[16384];
	SSL_CTX *sctx, *cctx;
	SSL *srv, *cli;
	BIO *bs, *bc;
	const unsigned char *sel = NULL;
	unsigned sel_len = 0;
	struct timespec t0, t1;
	long long calls, done = 0;
	size_t n, size = 1;
	int rs = 0, rc = 0, i;

	if (argc != 4 && argc != 5)
		return 2;
	calls = atoll(argv[3]);
	if (argc == 5)
		size = (size_t)atol(argv[4]);
	if (size < 1 || size > sizeof block || sizeof block % size != 0)
		die("SIZE: 1 to 16384, dividing 16384");
	sctx = SSL_CTX_new(TLS_server_method());
	cctx = SSL_CTX_new(TLS_client_method());
	if (SSL_CTX_use_certificate_chain_file(sctx, argv[1]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sctx, argv[2], SSL_FILETYPE_PEM) != 1)
		die("certificate");
	SSL_CTX_set_alpn_select_cb(sctx, alpn_h2, NULL);
	SSL_CTX_set_alpn_protos(cctx, (const unsigned char *)"\x02h2", 3);
	srv = SSL_new(sctx);
	cli = SSL_new(cctx);
	if (BIO_new_bio_pair(&bs, 1 << 17, &bc, 1 << 17) != 1)
		die("BIO pair");
	SSL_set_bio(srv, bs, bs);
	SSL_set_bio(cli, bc, bc);
	SSL_set_accept_state(srv);
	SSL_set_connect_state(cli);
	for (i = 0; i < 100 && (rs != 1 || rc != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(cli);
		if (rs != 1)
			rs = SSL_do_handshake(srv);
	}
	if (rs != 1 || rc != 1)
		die("handshake");
	SSL_get0_alpn_selected(cli, &sel, &sel_len);
	if (sel_len != 2 || memcmp(sel, "h2", 2) != 0)
		die("ALPN h2 not selected");
	if (SSL_write_ex(cli, preface, 24, &n) != 1 ||
	    SSL_read_ex(srv, got, sizeof got, &n) != 1 || n != 24)
		die("preface");
	memset(block, 'x', sizeof block);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	while (done < calls) {
		long long k;

		if (SSL_write_ex(srv, block, sizeof block, &n) != 1)
			die("server write");
		for (k = 0; k < (long long)sizeof block && done < calls;
		     k += (long long)size, done++)
			if (SSL_read_ex(cli, got, size, &n) != 1 || n != size ||
			    got[0] != 'x' || got[size - 1] != 'x')
				die("client read");
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	printf("ns-per-call %.2f\nalpn h2\n",
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) /
		       (double)calls);
	return 0;
}
