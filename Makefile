# forceclose - see README.md.  `make`, `make test`, `make demo`,
# `make install`, `make bench`, `make fuzz`, `make test-asan`, `make clean`.
CC      ?= cc
CFLAGS  ?= -O2
WARN     = -Wall -Wextra
BASE     = -std=gnu11 -U_FORTIFY_SOURCE $(WARN)
LIB_CFLAGS  = $(BASE) $(CFLAGS) -fPIC -fvisibility=hidden -pthread
LIB_LDFLAGS = -shared -Wl,-z,relro,-z,now -Wl,--version-script=shim/libforceclose.map
TEST_CFLAGS = -std=gnu11 -O2 -D_FORTIFY_SOURCE=2 $(WARN) -Werror -pthread

VERSION  = 0.2.0
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
MANDIR  ?= $(PREFIX)/share/man

LIB      = shim/libforceclose.so
LIB_SRC  = shim/real.c shim/config.c shim/log.c shim/stats.c shim/fdtable.c \
           shim/conn.c shim/conn_identity.c shim/observe.c shim/observe_report.c shim/observe_read.c \
           shim/conn_lock.c shim/conn_write.c shim/conn_read.c shim/conn_read_head.c shim/io_read.c \
           shim/io_write.c shim/io_fd.c shim/io_exec.c shim/io_spawn.c shim/io_dl.c \
           shim/library.c \
           shim/tls_session.c shim/tls_conn.c shim/tls_observe.c shim/tls_openssl.c \
           shim/tls_gnutls.c
PURE_SRC = shim/http_fields.c shim/http_head.c shim/http_request.c \
           shim/filter.c shim/settings.c \
           shim/http_response.c shim/chunked.c
LIB_OBJ  = $(patsubst shim/%.c,build/shim/%.o,$(LIB_SRC) $(PURE_SRC))
HEADERS  = $(wildcard shim/*.h)
LAUNCHER = shim/forceclose
# the system-call engine runs the same pure core, log.c and stats.c
ENGINE_SRC = shim/engine_super.c shim/engine_filter.c shim/engine_sock.c \
           shim/engine_io.c shim/engine_conn.c shim/engine_req.c \
           shim/engine_resp.c shim/engine_conf.c shim/log.c shim/stats.c \
           shim/observe.c shim/observe_report.c \
           shim/http_fields.c shim/http_head.c shim/http_request.c \
           shim/http_response.c shim/chunked.c
LAUNCHER_SRC = shim/forceclose.c $(wildcard shim/check.c) shim/settings.c \
           shim/filter.c $(ENGINE_SRC)
MANPAGES = docs/forceclose.1 docs/libforceclose.7

UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_BIN = $(patsubst tests/unit/%.c,build/unit/%,$(UNIT_SRC))
TPROG_SRC = $(wildcard tests/c/*.c)
TPROG_BIN = $(patsubst tests/c/%.c,build/tests/%,$(TPROG_SRC))

.PHONY: all test demo bench clean test-programs install uninstall fuzz \
        test-asan lib-sources FORCE
all: $(LIB) $(LAUNCHER)

$(LIB): $(LIB_OBJ) shim/libforceclose.map
	$(CC) $(LIB_CFLAGS) $(LIB_LDFLAGS) -o $@ $(LIB_OBJ) -ldl

# A profile-guided build (GCC): the library is built instrumented, runs
# shim/pgo_train.c's exchanges on 127.0.0.1, and is built again with that
# profile, which lays out together the code an exchange runs (about a
# point and a half of the request rate: docs/performance.md, round 10).
# PGO=0, or another compiler, builds without; so does a training run that
# fails.
PGO ?= $(shell $(CC) --version 2>/dev/null | grep -q 'Free Software' && echo 1)
ifeq ($(PGO),1)
PGO_OBJ = $(patsubst build/shim/%,build/pgo/shim/%,$(LIB_OBJ))
PGO_GEN = -fprofile-generate -fprofile-update=atomic
# code the training never ran keeps its usual optimisation; counts that
# disagree (as threads can leave them) are mended rather than an error
PGO_USE = -fprofile-use -fprofile-partial-training -fprofile-correction \
          -Wno-missing-profile

# -dumpbase: the final object's auxiliary name, which the profile's
# function names depend on; the profile goes to build/shim/%.gcda
build/pgo/shim/%.o: shim/%.c $(HEADERS)
	@mkdir -p $(dir $@) build/shim
	$(CC) $(LIB_CFLAGS) $(PGO_GEN) -dumpbase build/shim/$* -c -o $@ $<

build/pgo/libforceclose.so: $(PGO_OBJ) shim/libforceclose.map
	$(CC) $(LIB_CFLAGS) $(PGO_GEN) $(LIB_LDFLAGS) -o $@ $(PGO_OBJ) -ldl

build/pgo/train: shim/pgo_train.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O2 -o $@ $<

# build/pgo/use: the flags of the final compile (none without a profile)
build/pgo/use: build/pgo/libforceclose.so build/pgo/train
	@rm -f build/shim/*.gcda
	@if env -i LD_PRELOAD=$(abspath build/pgo/libforceclose.so) build/pgo/train; \
	then echo '$(PGO_USE)' >$@; \
	else rm -f build/shim/*.gcda; : >$@; \
	    echo 'pgo_train failed: the library is built without a profile' >&2; fi

build/shim/%.o: shim/%.c $(HEADERS) build/pgo/use
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $$(cat build/pgo/use) -c -o $@ $<
else
build/shim/%.o: shim/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c -o $@ $<
endif

# the library's sources, for the builds the tests make of it themselves
# (tests/stress: ThreadSanitizer)
lib-sources:
	@echo $(LIB_SRC) $(PURE_SRC)

# The launcher's compiled-in library path follows LIBDIR: a change of
# LIBDIR rebuilds it.
build/libdir.txt: FORCE
	@mkdir -p build
	@echo '$(LIBDIR)' | cmp -s - $@ || echo '$(LIBDIR)' >$@

$(LAUNCHER): $(LAUNCHER_SRC) $(HEADERS) build/libdir.txt
	$(CC) $(BASE) $(CFLAGS) -pthread -Ishim -DFORCECLOSE_LIBDIR='"$(LIBDIR)"' \
	    -DFORCECLOSE_VERSION='"$(VERSION)"' -o $@ $(LAUNCHER_SRC)

# unit tests link the code they test directly: the pure code, and the
# connection lock (tests/sanitize/asan.sh builds them from UNIT_LINK too)
UNIT_LINK = $(PURE_SRC) shim/conn_lock.c
build/unit/%: tests/unit/%.c $(UNIT_LINK) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -g -pthread -Ishim -o $@ $< $(UNIT_LINK)

build/tests/%: tests/c/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $<

test-programs: $(LIB) $(LAUNCHER) $(UNIT_BIN) $(TPROG_BIN)

test:
	@tests/install-deps.sh
	@$(MAKE) --no-print-directory test-programs
	@tests/run.sh

demo: $(LIB) $(LAUNCHER)
	@tests/demo.sh

# figures are ratios measured in one run; QUICK=1 for a short run
bench: $(LIB)
	@QUICK=$(QUICK) tests/bench/run.sh

# the whole suite again, with the library built under ASan and UBSan
test-asan:
	@tests/install-deps.sh
	@$(MAKE) --no-print-directory test-programs
	@tests/sanitize/asan.sh

# libFuzzer targets, FUZZ_SECONDS each (default 60)
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

install: $(LIB) $(LAUNCHER)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(LAUNCHER) $(DESTDIR)$(BINDIR)/forceclose
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libforceclose.so
	install -m 644 docs/forceclose.1 $(DESTDIR)$(MANDIR)/man1/forceclose.1
	install -m 644 docs/libforceclose.7 $(DESTDIR)$(MANDIR)/man7/libforceclose.7

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/forceclose \
	    $(DESTDIR)$(LIBDIR)/libforceclose.so \
	    $(DESTDIR)$(MANDIR)/man1/forceclose.1 \
	    $(DESTDIR)$(MANDIR)/man7/libforceclose.7

clean:
	rm -rf build $(LIB) $(LAUNCHER)
