# iotids — one Makefile for the daemon, its tests, the traffic generator and
# the benchmarks. `make help` lists the targets.

CC      ?= cc
BUILD   ?= build
PKGS    := libpcap jansson yaml-0.1 libndpi libpsl sqlite3 hiredis libbpf
DEB_PKGS := build-essential pkg-config clang libclang-rt-dev libpcap-dev libjansson-dev libyaml-dev \
            libcriterion-dev tcpdump time jq libndpi-dev libndpi-bin libpsl-dev publicsuffix \
            ieee-data libsqlite3-dev sqlite3 libhiredis-dev redis-server redis-tools \
            tcpreplay iproute2 libbpf-dev bpftool
SEED    ?= 2026

WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wwrite-strings -Wshadow -Wvla
CFLAGS  ?= -O2 -g
CPPFLAGS += -I. -I$(BUILD)/ebpf -D_DEFAULT_SOURCE
ALL_CFLAGS = -std=c11 -pthread $(WARN) $(CFLAGS) $(SAN) -MMD -MP $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC  := $(wildcard capture/*.c features/*.c detector/*.c rules/*.c) $(filter-out cli/main.c,$(wildcard cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
GEN_SRC  := $(wildcard pcaps/gen/*.c)
GEN_OBJ  := $(GEN_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

BIN      := iotids
GEN      := $(BUILD)/iotgen
TESTBIN  := $(BUILD)/iotids-tests
DEMO     := pcaps/demo.pcap
DEMO_ALERTS := $(BUILD)/demo-alerts.json

.PHONY: all deps demo test asan check-banned bench bench-redis bench-live bench-hostile eval clean help golden demo-pcap malformed-pcaps \
	fuzz fuzz-bins fuzz-clang-objs fuzz-seeds fuzz-smoke fuzz-long fuzz-coverage
.DEFAULT_GOAL := all

all: $(BIN) $(GEN)

help:
	@echo "make deps    install missing Debian packages (apt-get, idempotent)"
	@echo "make         build ./iotids and the traffic generator"
	@echo "make demo    deps + build + replay the bundled demo capture"
	@echo "make test    deps + build + run the Criterion suite (what CI runs)"
	@echo "make asan    the same suite built with ASan + UBSan"
	@echo "make fuzz    build the libFuzzer harnesses (clang, ASan + UBSan) into $(FUZZ_BUILD)/fuzz"
	@echo "make fuzz-smoke  run each harness $(FUZZ_SECONDS) s from its seeds, and every regression input (part of make test)"
	@echo "make fuzz-long FUZZ_SECONDS=1800  the long runs, one harness per core, logs in $(FUZZ_BUILD)/logs"
	@echo "make bench   throughput and memory benchmarks (large generated captures)"
	@echo "make bench-redis  the cost of publishing alerts to Redis, and its throughput"
	@echo "make bench-live   (root) CPU and loss of the eBPF and libpcap sources on a veth pair"
	@echo "make bench-hostile  10 M spoofed packets, a DNS-answer flood, 1 M names: memory bound, real devices kept"
	@echo "make eval    detection on labelled attack/benign scenarios, false alerts per 100 device-days"

# Installs only what is missing, so it is cheap to call before every build.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Learns the demo's two benign hours, then alerts on its attacks: one line
# each on the terminal, JSON lines in $(DEMO_ALERTS).
demo: deps
	$(MAKE) --no-print-directory all
	./$(BIN) replay --learn-for 2h --rules rules/example.yaml --alerts $(DEMO_ALERTS) --devices $(DEMO)
	@echo "alerts as JSON lines: $(DEMO_ALERTS)"

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

# The TC programs: built for the BPF target with the kernel's UAPI headers
# (no vmlinux.h: they read only __sk_buff and packet bytes), then embedded in
# a skeleton header that capture/cap_ebpf.c includes. Neither is committed.
BPF_CLANG ?= clang
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
BPF_INC  := /usr/include/$(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine)

$(BUILD)/ebpf/%.bpf.o: ebpf/%.bpf.c ebpf/%.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)$(BPF_CLANG) -O2 -g -target bpf -Wall -Wextra -Werror -I$(BPF_INC) -Iebpf -c $< -o $@

$(BUILD)/ebpf/%.skel.h: $(BUILD)/ebpf/%.bpf.o
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

$(BUILD)/capture/cap_ebpf.o: $(BUILD)/ebpf/flowcap.skel.h
.PRECIOUS: $(BUILD)/ebpf/%.bpf.o

$(BUILD)/libiotids.a: $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/cli/main.o $(BUILD)/libiotids.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(GEN): $(GEN_OBJ) $(BUILD)/libiotids.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(TESTBIN): $(TEST_OBJ) $(BUILD)/libiotids.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs criterion 2>/dev/null) \
		-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=strdup,--wrap=strndup,--wrap=free

# Tests find the binaries through these variables, so the sanitizer run tests
# the sanitizer build of everything.
test: deps
	$(MAKE) --no-print-directory $(BIN) $(GEN) $(TESTBIN) check-banned
	IOTIDS_BIN=$(abspath $(BIN)) IOTGEN_BIN=$(abspath $(GEN)) TZ=UTC \
		LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) $(TESTBIN) $(TEST_ARGS)
	$(if $(SAN)$(TEST_ARGS),,$(MAKE) --no-print-directory fuzz-smoke)

asan: deps
	$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/iotids \
		CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
		TEST_ARGS="$(TEST_ARGS)" test

# Rewrites the golden outputs listed in tests/golden/TESTLIST.
golden: $(BIN)
	@grep -v '^#' tests/golden/TESTLIST | while IFS='	' read -r out args; do \
		[ -n "$$out" ] || continue; echo "  GOLDEN  tests/golden/$$out"; \
		TZ=UTC ./$(BIN) $$args > tests/golden/$$out; done
	IOTIDS_BIN=./$(BIN) sh tests/golden/malformed/update.sh

# The bundled demo capture, from its seed (a test checks it still matches).
demo-pcap: $(GEN)
	$(GEN) demo --seed $(SEED) -o $(DEMO)

# The malformed-capture corpus (a test checks it still matches).
malformed-pcaps: $(GEN)
	$(GEN) malformed -o pcaps/malformed

# libFuzzer harnesses (tests/fuzz/fuzz_*.c): the library built again with
# clang, coverage instrumentation and ASan + UBSan, in its own directory.
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 4
FUZZERS      := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz: deps
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzz-bins fuzz-clang-objs

fuzz-bins: $(FUZZERS:%=$(BUILD)/fuzz/%)

# The daemon and the generator are compiled too (not linked): with the
# library, every program of the tree is -Werror clean under clang as well.
# (The tests are left to gcc: compiling them again would cost CI a minute.)
fuzz-clang-objs: $(BUILD)/cli/main.o $(GEN_OBJ)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libiotids.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libiotids.a $(LDLIBS)

# Rewrites the packet seed corpora from real captures (review, then commit).
fuzz-seeds: $(BUILD)/fuzz-seeds $(GEN)
	d=$$(mktemp -d) && $(GEN) garbage --seed $(SEED) --packets 2000 -o $$d/garbage.pcap >/dev/null && \
	$(GEN) synflood --seed $(SEED) --packets 200 -o $$d/synflood.pcap >/dev/null && \
	$(BUILD)/fuzz-seeds tests/fuzz/corpus $(DEMO) $$d/garbage.pcap $$d/synflood.pcap; rc=$$?; rm -rf $$d; exit $$rc

$(BUILD)/fuzz-seeds: tests/fuzz/seeds.c $(BUILD)/libiotids.a
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libiotids.a $(LDLIBS)

fuzz-smoke: fuzz
	FUZZ_BUILD=$(FUZZ_BUILD) bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

# Line coverage of each harness's files from the corpus the fuzz runs grew.
fuzz-coverage:
	$(MAKE) --no-print-directory BUILD=build-fuzzcov CC=$(FUZZ_CC) CFLAGS="-O1 -g" \
		SAN="-fsanitize=fuzzer-no-link -fprofile-instr-generate -fcoverage-mapping" fuzz-bins
	FUZZ_BUILD=$(FUZZ_BUILD) COV_BUILD=build-fuzzcov bash tests/fuzz/coverage.sh $(FUZZERS)

fuzz-long: fuzz
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_JOBS=$${FUZZ_JOBS:-2} bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

check-banned:
	@if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|gets)[[:space:]]*\(' \
		$$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]'); then \
		echo "banned libc call (use a bounded or checked one)"; exit 1; fi

$(BUILD)/bench/%: bench/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

bench: deps
	$(MAKE) --no-print-directory all $(BENCH_BIN)
	BUILD=$(BUILD) bash bench/run.sh
	BUILD=$(BUILD) bash bench/redis.sh
	@if [ "$$(id -u)" = 0 ]; then BUILD=$(BUILD) bash bench/live.sh; \
	else echo "bench/live.sh skipped: it makes network namespaces, which needs root"; fi

bench-redis: deps
	$(MAKE) --no-print-directory all $(BUILD)/bench/redispub
	BUILD=$(BUILD) bash bench/redis.sh

bench-live: deps
	$(MAKE) --no-print-directory all
	BUILD=$(BUILD) bash bench/live.sh

bench-hostile: deps
	$(MAKE) --no-print-directory all
	BUILD=$(BUILD) IOTIDS=$(abspath $(BIN)) bash bench/hostile.sh

eval: all
	BUILD=$(BUILD) bash bench/eval.sh

clean:
	rm -rf build build-asan $(FUZZ_BUILD) build-fuzzcov $(BIN)

-include $(LIB_OBJ:.o=.d) $(GEN_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/cli/main.d $(FUZZERS:%=$(BUILD)/fuzz/%.d)
