#!/usr/bin/env bash
# Installs the test dependencies that are missing (Debian packages).
# Without root it only says what is missing; the tests that need a missing
# tool skip with a reason.
set -eu
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have bats    || need+=(bats)
have parallel || need+=(parallel)
have curl    || need+=(curl)
have wget    || need+=(wget)
have python3 || need+=(python3)
have node    || need+=(nodejs)
have cc      || need+=(gcc)
have ss      || need+=(iproute2)
have perl    || need+=(perl)
have ab      || need+=(apache2-utils)
have javac   || need+=(default-jdk-headless)
have clang   || need+=(clang)
# sanitizer and libFuzzer runtimes (clang only recommends them)
[ -n "$(find /usr/lib/llvm-*/lib/clang -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null)" ] ||
	need+=(libclang-rt-14-dev)
have mandoc  || need+=(mandoc)
have systemd-analyze || need+=(systemd)
have setcap  || need+=(libcap2-bin)
have valgrind || need+=(valgrind)
have strace  || need+=(strace)   # tests/floor.bats: system calls per exchange
have go      || need+=(golang-go)
# tests/tls.bats: certificates at test time, OpenSSL test programs
have openssl || need+=(openssl)
[ -e /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
[ -e /usr/include/gnutls/gnutls.h ] || need+=(libgnutls28-dev)
perl -MLWP::Protocol::https -e 1 2>/dev/null ||
	need+=(libwww-perl liblwp-protocol-https-perl)
have ruby    || need+=(ruby)
have git     || need+=(git)    # git over https: libcurl-gnutls
# PHP's TLS streams and its curl extension (loaded with RTLD_DEEPBIND)
have php     || need+=(php-cli)
{ have php && php -r 'exit(function_exists("curl_init") ? 0 : 1);'; } ||
	need+=(php-curl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${need[*]} (run as root, or apt-get install them)" >&2
	exit 0
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
