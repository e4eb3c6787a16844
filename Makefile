# lua-smpp: build the C module smpp/core.so, run the tests, benchmarks and fuzzers.
#   make                 build for Lua 5.4 (make LUA=luajit for LuaJIT 2.1)
#   make demo            the end-to-end exchange with the simulator over TLS
#   make shell           a Lua 5.4 prompt with this tree's smpp loaded (make env: its variables)
#   make test            C unit tests, the busted suite (Lua 5.4; codec and client specs on LuaJIT, 5.1, 5.3)
#   make check-asan      the suite with the C module built with ASan+UBSan
#   make bench           benchmarks, machine-readable figures
#   make fuzz            a bounded libFuzzer run of every target
#   make lint            clang-tidy / cppcheck / luacheck, where installed
#   make doc             the API reference (LDoc, config.ld) into doc/
#   make install         into $(PREFIX) (LuaRocks uses the rockspec instead)
#   make man             man/smpp.1 and man/smpp-sim.1 again, from the tools' --help (help2man)

LUA ?= 5.4
ifeq ($(LUA),luajit)
LUA_INC ?= /usr/include/luajit-2.1
LUA_BIN ?= luajit
else
LUA_INC ?= /usr/include/lua$(LUA)
LUA_BIN ?= lua$(LUA)
endif
BUILD ?= build/$(LUA_BIN)

CC ?= cc
CFLAGS ?= -O2 -g
WARN = -std=c99 -Wall -Wextra -pedantic -Werror
CPPFLAGS += -D_POSIX_C_SOURCE=200809L
CORE_SRCS = csrc/smpp_buf.c csrc/smpp_defs.c csrc/smpp_pdu.c csrc/smpp_frame.c \
            csrc/smpp_gsm.c csrc/smpp_text.c csrc/smpp_receipt.c csrc/smpp_session.c \
            csrc/smpp_net.c csrc/smpp_throttle.c csrc/smpp_tls.c
SRCS = $(CORE_SRCS) csrc/lsmpp.c csrc/lsmpp_text.c csrc/lsmpp_receipt.c csrc/lsmpp_session.c \
       csrc/lsmpp_net.c csrc/lsmpp_tls.c
HDRS = $(wildcard csrc/*.h)

PREFIX ?= /usr/local
LUA_VERSION_DIR ?= 5.4
INSTALL_LMOD ?= $(PREFIX)/share/lua/$(LUA_VERSION_DIR)
INSTALL_CMOD ?= $(PREFIX)/lib/lua/$(LUA_VERSION_DIR)

BUSTED ?= busted
SPEC_ENV = LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;" \
           LUA_CPATH="$(CURDIR)/$(BUILD)/?.so;;"
# The specs that run on LuaJIT too (the codec, text, receipts, engine, client).
CODEC_SPECS = spec/pdu_spec.lua spec/golden_spec.lua spec/malformed_spec.lua spec/framer_spec.lua \
              spec/text_spec.lua spec/receipt_spec.lua spec/session_spec.lua spec/link_spec.lua spec/tls_spec.lua spec/server_spec.lua \
              spec/client_spec.lua spec/interop_client_spec.lua spec/delivery_spec.lua spec/joiner_spec.lua \
              spec/long_mo_spec.lua

.PHONY: all test test-luas run-codec-specs luajit-module check-asan bench fuzz lint install clean deps demo soak doc shell env man

all: $(BUILD)/smpp/core.so

$(BUILD)/smpp/core.so: $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -fPIC -shared -I$(LUA_INC) -o $@ $(SRCS) $(LDFLAGS) -lssl -lcrypto

deps:
	@sh .ci/deps.sh

# A REPL on this tree (smpp loaded), or the variables for one of your own:
#   make shell          eval "$(make -s env)"; lua5.4 -i
shell: all
	@$(SPEC_ENV) $(LUA_BIN) -i -e 'smpp = require "smpp"; print("smpp " .. smpp._VERSION .. " loaded as smpp (" .. _VERSION .. ")")'

env:
	@echo 'export LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;" LUA_CPATH="$(CURDIR)/$(BUILD)/?.so;;" PATH="$(CURDIR)/bin:$$PATH"'

demo: deps all
	@$(SPEC_ENV) $(LUA_BIN) examples/demo.lua

# (spec/ngx_spec.lua runs nginx, whose Lua is LuaJIT: it loads build/luajit)
test: deps all luajit-module
	sh spec/c/run.sh
	$(SPEC_ENV) $(BUSTED) --lua=$(LUA_BIN) spec
	@$(MAKE) --no-print-directory test-luas

luajit-module:
	@$(MAKE) --no-print-directory LUA=luajit BUILD=build/luajit all

# The codec and client specs on every other Lua the rockspec admits: LuaJIT,
# PUC Lua 5.1 and 5.3 (each one that is installed with its headers), the
# three at once (the specs mostly wait on sockets), each one's output shown whole.
test-luas:
	@rc=0; run=""; \
	for lua in luajit 5.1 5.3; do \
	    if [ $$lua = luajit ]; then bin=luajit inc=/usr/include/luajit-2.1; \
	    else bin=lua$$lua inc=/usr/include/lua$$lua; fi; \
	    if command -v $$bin >/dev/null 2>&1 && [ -d $$inc ]; then \
	        $(MAKE) --no-print-directory LUA=$$lua BUILD=build/$$bin all || exit 1; \
	        ( $(MAKE) --no-print-directory LUA=$$lua BUILD=build/$$bin run-codec-specs \
	            > build/test-$$bin.log 2>&1; echo $$? > build/test-$$bin.rc ) & \
	        run="$$run $$bin"; \
	    else echo "test-luas: $$bin or its headers not installed, skipped"; fi; \
	done; \
	wait; \
	for bin in $$run; do \
	    echo "--- the codec and client specs on $$bin"; cat build/test-$$bin.log; \
	    [ "$$(cat build/test-$$bin.rc)" = 0 ] || rc=1; \
	done; \
	exit $$rc

# (spec/yieldable_pcall.lua: on PUC Lua 5.1 the specs' pcall is smpp.loop.pcall)
run-codec-specs:
	$(SPEC_ENV) $(BUSTED) --lua=$(LUA_BIN) --helper=spec/yieldable_pcall.lua $(CODEC_SPECS)

check-asan: deps luajit-module
	$(MAKE) --no-print-directory BUILD=build/asan \
	    CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" all
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LD_PRELOAD="$$(clang -print-file-name=libclang_rt.asan-x86_64.so)" \
	LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;" \
	LUA_CPATH="$(CURDIR)/build/asan/?.so;;" $(BUSTED) --lua=$(LUA_BIN) spec

bench: deps all luajit-module
	@sh bench/run.sh "$(BUILD)" "$(LUA_BIN)"

fuzz: deps
	@sh fuzz/run.sh $${FUZZ_SECONDS:-30}

# The chaos soak: 20 000 messages through spec/chaos/proxy.js's faults to
# node-smpp's SMSC, the client's results joined with what the SMSC took
# (SOAK_SEED, SOAK_MESSAGES, SOAK_SECONDS change the run).
soak: all
	@$(SPEC_ENV) $(LUA_BIN) spec/chaos/soak.lua $${SOAK_MESSAGES:-20000} $${SOAK_SEED:-1} $${SOAK_SECONDS:-600}

lint:
	@if command -v cppcheck >/dev/null; then \
	    cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	        --suppress=missingIncludeSystem -I csrc $(SRCS); fi
	@if command -v clang-tidy >/dev/null; then \
	    clang-tidy --quiet $(SRCS) -- $(CPPFLAGS) -std=c99 -I$(LUA_INC) 2>/dev/null; fi
	@if command -v luacheck >/dev/null; then luacheck --quiet lua spec bench bin examples; fi

doc: deps
	rm -rf doc
	ldoc --fatalwarnings .

install: all
	install -d $(DESTDIR)$(INSTALL_LMOD)/smpp/transport $(DESTDIR)$(INSTALL_LMOD)/smpp/client \
	    $(DESTDIR)$(INSTALL_CMOD)/smpp $(DESTDIR)$(PREFIX)/bin
	install -m 644 lua/smpp/*.lua $(DESTDIR)$(INSTALL_LMOD)/smpp/
	install -m 644 lua/smpp/client/*.lua $(DESTDIR)$(INSTALL_LMOD)/smpp/client/
	install -m 644 lua/smpp/transport/*.lua $(DESTDIR)$(INSTALL_LMOD)/smpp/transport/
	install -m 755 bin/smpp bin/smpp-sim $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(BUILD)/smpp/core.so $(DESTDIR)$(INSTALL_CMOD)/smpp/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 man/smpp.1 man/smpp-sim.1 $(DESTDIR)$(PREFIX)/share/man/man1/

# The man pages are the tools' --help and --version (help2man), their
# "Exit status:" a section of its own; man/ keeps them for make install.
man: all
	help2man --no-info -n "send SMS, and print delivery receipts and MO messages, over SMPP 3.4" ./bin/smpp \
	    | sed 's/^\.SS "Exit status:"/.SH "EXIT STATUS"/' > man/smpp.1
	help2man --no-info -n "an SMSC simulator for tests and demos" ./bin/smpp-sim \
	    | sed 's/^\.SS "Exit status:"/.SH "EXIT STATUS"/' > man/smpp-sim.1

clean:
	rm -rf build fuzz/build bench/build
