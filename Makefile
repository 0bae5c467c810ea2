# portkeeper — see README.md.  Cross-builds take CC and PKG_CONFIG from the
# environment, e.g. make CC=aarch64-linux-gnu-gcc PKG_CONFIG=aarch64-linux-gnu-pkg-config,
# or from a Debian architecture: make ARCH=arm64 (into build-arm64/).

# ARCH names a Debian architecture to cross-build for: Debian's cross
# compiler and pkg-config for it, unless CC or PKG_CONFIG are given.
ifneq ($(ARCH),)
HOST_TRIPLET	:= $(shell dpkg-architecture -a$(ARCH) -qDEB_HOST_GNU_TYPE 2>/dev/null)
ifeq ($(HOST_TRIPLET),)
$(error ARCH=$(ARCH): not a Debian architecture dpkg-architecture knows)
endif
ifeq ($(origin CC),default)
CC		:= $(HOST_TRIPLET)-gcc
endif
ifeq ($(origin PKG_CONFIG),undefined)
PKG_CONFIG	:= $(HOST_TRIPLET)-pkg-config
endif
BUILD		?= build-$(ARCH)
endif

CC		?= cc
PKG_CONFIG	?= pkg-config
CFLAGS		?= -O2 -g
BUILD		?= build

PKGS		:= miniupnpc libcjson inih libmicrohttpd nettle libxcrypt
PK_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -MMD -MP \
		   $(shell $(PKG_CONFIG) --cflags $(PKGS))
# libnatpmp ships no pkg-config file.  -lm for floor() in the daemon's web
# API: glibc on arm64 and amd64 resolves it without, armhf does not.
PK_LIBS		:= $(shell $(PKG_CONFIG) --libs $(PKGS)) -lnatpmp -lpthread -lm
# The command line serves no HTTP (probe-server is a program of its own),
# so it links neither libmicrohttpd nor, through it, GnuTLS; nor nettle,
# which only checking a password needs (htpasswd_check.c, the daemon's).
# Every library a program loads costs its start-up time, and --as-needed
# (Debian's gcc default, not every cross or sanitizer toolchain's) leaves
# out any that a program's objects do not call.
CLI_LIBS	:= $(shell $(PKG_CONFIG) --libs $(filter-out libmicrohttpd nettle,$(PKGS))) \
		   -lnatpmp -lpthread
PK_LDFLAGS	:= -Wl,--as-needed
ifdef PK_VERSION
PK_CFLAGS	+= -DPK_VERSION='"$(PK_VERSION)"'
endif

# Every Debian package needed to build, test, benchmark and demo.
DEPS_PKGS	:= gcc make pkgconf libminiupnpc-dev libnatpmp-dev libcjson-dev \
		   libmicrohttpd-dev libcmocka-dev libinih-dev \
		   miniupnpd-nftables miniupnpc natpmpc \
		   nftables iproute2 python3 curl procps psmisc \
		   debhelper dpkg-dev lintian systemd man-db bash-completion \
		   nettle-dev libcrypt-dev apache2-utils openssl socat wrk \
		   nginx-light chromium nodejs clang libclang-rt-14-dev ddclient

# Three folders, one program each: lib/ (the library both programs share,
# libportkeeper.a), cli/ (portkeeper) and daemon/ (portkeeperd).  The
# daemon's modules other than its main() also go into libportkeeperd.a, so
# that unit tests and fuzz targets can link them.
LIB_SRCS	:= $(wildcard lib/*.c)
CLI_SRCS	:= $(wildcard cli/*.c)
PROBED_SRCS	:= $(wildcard probe/*.c)
DAEMON_SRCS	:= $(wildcard daemon/*.c)
DAEMON_MAIN	:= daemon/portkeeperd.c daemon/web_main.c
LIB_OBJS	:= $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS	:= $(CLI_SRCS:%.c=$(BUILD)/%.o)
PROBED_OBJS	:= $(PROBED_SRCS:%.c=$(BUILD)/%.o)
DAEMON_OBJS	:= $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
# What tests/integration/test_failalloc.sh builds its driver from: the
# library and the daemon's parser of API bodies.
FAULT_SRCS	:= $(LIB_SRCS) daemon/webapi.c
DLIB_OBJS	:= $(filter-out $(DAEMON_MAIN:%.c=$(BUILD)/%.o),$(DAEMON_OBJS)) \
		   $(BUILD)/gen/webui_assets.o

# The web UI's files, embedded into the daemon by a generator that runs on
# the build machine (HOSTCC, also when cross-building).
WEBUI_FILES	:= $(sort $(wildcard webui/*.html webui/*.js webui/*.css webui/*.svg))
HOSTCC		?= cc

UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Test-only programs that integration tests run against the library
# (tests/tools/NAME.c -> $(BUILD)/tests/tools/NAME); never installed.
TOOL_SRCS	:= $(wildcard tests/tools/*.c)
TOOL_BINS	:= $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)

# make install: where.  The daemon looks for /etc/portkeeper/portkeeper.conf
# whatever PREFIX is, so SYSCONFDIR does not follow it; Debian 12 keeps
# systemd units in /lib/systemd/system.
PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
# portkeeper finds its helper at ../libexec/portkeeper from BINDIR.
LIBEXECDIR	?= $(PREFIX)/libexec
MANDIR		?= $(PREFIX)/share/man
DOCDIR		?= $(PREFIX)/share/doc/portkeeper
BASHCOMPDIR	?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR	?= /etc
UNITDIR		?= $(if $(filter /usr,$(PREFIX)),/lib,$(PREFIX)/lib)/systemd/system
INSTALL		?= install

.PHONY: all deps deps-cross cross-missing check unit integration demo bench clean install deb \
	fuzz fuzz-replay fuzz-targets
all: $(BUILD)/portkeeper $(BUILD)/portkeeperd $(BUILD)/portkeeperd-web \
    $(BUILD)/portkeeper-probe-server

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PK_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/webui-embed: webui/embed.c
	@mkdir -p $(dir $@)
	$(HOSTCC) -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/gen/webui_assets.c: $(BUILD)/webui-embed $(WEBUI_FILES)
	@mkdir -p $(dir $@)
	$(BUILD)/webui-embed $@ $(WEBUI_FILES)

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CPPFLAGS) $(PK_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libportkeeper.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libportkeeperd.a: $(DLIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/portkeeper: $(CLI_OBJS) $(BUILD)/libportkeeper.a
	$(CC) $(PK_LDFLAGS) $(LDFLAGS) $(CFLAGS) -o $@ $^ $(CLI_LIBS)

# portkeeper probe-server execs it; it parses its options with cli.c.
$(BUILD)/portkeeper-probe-server: $(PROBED_OBJS) $(BUILD)/cli/cli.o \
    $(BUILD)/libportkeeper.a
	$(CC) $(PK_LDFLAGS) $(LDFLAGS) $(CFLAGS) -o $@ $^ $(PK_LIBS)

# The daemon serves HTTP through portkeeperd-web (daemon/front.c), so it
# links neither libmicrohttpd (nor, through it, GnuTLS) nor libcrypt.
$(BUILD)/portkeeperd: $(BUILD)/daemon/portkeeperd.o $(BUILD)/libportkeeperd.a \
    $(BUILD)/libportkeeper.a
	$(CC) $(PK_LDFLAGS) $(LDFLAGS) $(CFLAGS) -o $@ $^ $(PK_LIBS)

# libcrypt as needed whatever --as-needed sees: ASan's runtime defines
# crypt_r (an interceptor that calls the real one it finds at start-up),
# so a sanitizer build would otherwise leave libcrypt out and crash at the
# first password check.
$(BUILD)/portkeeperd-web: $(BUILD)/daemon/web_main.o $(BUILD)/libportkeeperd.a \
    $(BUILD)/libportkeeper.a
	$(CC) $(PK_LDFLAGS) $(LDFLAGS) $(CFLAGS) -o $@ $^ $(PK_LIBS) \
	    -Wl,--push-state,--no-as-needed -lcrypt -Wl,--pop-state

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libportkeeperd.a $(BUILD)/libportkeeper.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PK_CFLAGS) $(CFLAGS) -o $@ $< \
	    $(BUILD)/libportkeeperd.a $(BUILD)/libportkeeper.a $(PK_LIBS) \
	    $(shell $(PKG_CONFIG) --libs cmocka)

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libportkeeper.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PK_CFLAGS) $(CFLAGS) -o $@ $< \
	    $(BUILD)/libportkeeper.a $(PK_LIBS)

# $(call missing_pkgs,PACKAGES): a shell command that prints those of the
# Debian PACKAGES (NAME or NAME:ARCH) that are not installed.
missing_pkgs	= for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p \
		  2>/dev/null | grep -q '^install ok installed' || echo $$p; done
# $(call apt_install,WHAT): a shell command that installs the packages in
# $$missing (asking for root first) after an apt-get update.
apt_install	= if [ "$$(id -u)" != 0 ]; then \
		    echo "make $(1): missing Debian packages:" $$missing; \
		    echo "make $(1): run as root to install them"; exit 1; fi; \
		  echo "make $(1): installing" $$missing; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y -qq --no-install-recommends \
		    -o DPkg::Lock::Timeout=600 $$missing

deps:
	@missing=$$($(call missing_pkgs,$(DEPS_PKGS))); \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	$(call apt_install,deps)

# The Raspberry Pi's two Debian architectures: the cross compilers, the
# libraries of both, and qemu-user to run what they build
# (tests/integration/test_arm.sh; .ci/run calls this under CI).  Not part
# of make deps: an arm64 or armhf -dev package must be of the same version
# as its amd64 twin, so installing one upgrades amd64 packages, and fails
# while the mirror's arm64 or armhf index lags behind its amd64 one.
CROSS_ARCHES	:= arm64 armhf
CROSS_LIBS	:= pkgconf libminiupnpc-dev libnatpmp-dev libcjson-dev \
		   libinih-dev libmicrohttpd-dev nettle-dev libcrypt-dev
CROSS_PKGS	:= gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf \
		   qemu-user-static \
		   $(foreach a,$(CROSS_ARCHES),$(CROSS_LIBS:%=%:$(a)))

deps-cross:
	@missing=$$($(call missing_pkgs,$(CROSS_PKGS))); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	    for a in $(CROSS_ARCHES); do \
	        dpkg --print-foreign-architectures | grep -qx $$a || \
	        dpkg --add-architecture $$a || exit 1; done; fi; \
	$(call apt_install,deps-cross)

# What make deps-cross would install, one a line (nothing when all is
# there): test_arm.sh asks, to skip or fail with the names.
cross-missing:
	@$(call missing_pkgs,$(CROSS_PKGS))

unit: $(UNIT_BINS) $(TOOL_BINS)

# The tests run twice: as built, and with the programs and unit tests built
# with AddressSanitizer and UndefinedBehaviorSanitizer (any report fails the
# test; see tests/run.sh).
SAN_BUILD	?= $(BUILD)-san
SAN_CFLAGS	:= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=all

check: deps
	$(MAKE) all unit
	$(MAKE) all unit fuzz-replay BUILD=$(SAN_BUILD) CFLAGS="$(SAN_CFLAGS)"
	SAN_BUILD=$(SAN_BUILD) tests/run.sh $(BUILD)

# Fuzz targets (tests/fuzz/README.md): tests/fuzz/fuzz_NAME.c feeds one
# parser, tests/fuzz/corpus/NAME/ holds its inputs.  make check replays
# every corpus with a plain main() (tests/fuzz/replay.c) in the sanitizer
# build: $(SAN_BUILD)/tests/test_fuzz_NAME, which tests/run.sh runs with
# the unit tests.  make fuzz builds them with clang's libFuzzer into
# $(FUZZ_BUILD) and runs each (or those in FUZZ_TARGETS) for FUZZ_TIME
# seconds, adding the inputs that reach new code to its corpus.
FUZZ_NAMES	:= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS	?= $(FUZZ_NAMES)
FUZZ_TIME	?= 60
FUZZ_BUILD	?= $(BUILD)-fuzz
FUZZ_CC		?= clang
# clang 14 finds NLMSG_OK comparing its int length with an unsigned one
# (netinfo.c); gcc lets it pass, being a system header's macro.
FUZZ_CFLAGS	:= -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
		   -fno-sanitize-recover=all -fno-omit-frame-pointer \
		   -Wno-error=sign-compare
FUZZ_REPLAY	:= $(FUZZ_NAMES:%=$(BUILD)/tests/test_fuzz_%)
FUZZ_BINS	:= $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

fuzz-replay: $(FUZZ_REPLAY)
fuzz-targets: $(FUZZ_BINS)

$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/tests/fuzz-replay.o \
    $(BUILD)/libportkeeperd.a $(BUILD)/libportkeeper.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PK_CFLAGS) $(CFLAGS) -o $@ $< \
	    $(filter %.o,$^) $(BUILD)/libportkeeperd.a $(BUILD)/libportkeeper.a \
	    $(PK_LIBS)

# One driver for all: it takes the corpus's name from its program's name.
$(BUILD)/tests/fuzz-replay.o: tests/fuzz/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PK_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libportkeeperd.a \
    $(BUILD)/libportkeeper.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PK_CFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(filter %.o,$^) $(BUILD)/libportkeeperd.a $(BUILD)/libportkeeper.a \
	    $(PK_LIBS)

fuzz: deps
	$(MAKE) fuzz-targets BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	    CFLAGS="$(FUZZ_CFLAGS)"
	tests/fuzz/fuzz.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

demo: deps
	$(MAKE) all
	tests/demo.sh $(BUILD)/portkeeper

# Opening a port (next to natpmpc and upnpc), an IPv6 pinhole and a PCP
# forward (next to tests/net/pcp_client.py and upnpc -6), the daemon's
# targets (restore after a router restart, WAN change, idle cost), how long
# portkeeper doctor takes, the web API next to nginx, the daemon's memory
# (resident, proportional and private) idle and under 64 web connections,
# and how its cost grows with 10, 100 and 1,000 forwards.  See
# docs/benchmarks.md.
bench: deps
	$(MAKE) all
	bench/bench.sh $(BUILD)/portkeeper
	bench/ipv6.sh $(BUILD)/portkeeper
	bench/daemon.sh $(BUILD)
	bench/doctor.sh $(BUILD)/portkeeper
	bench/web.sh $(BUILD)
	bench/memory.sh $(BUILD)
	bench/scale.sh $(BUILD)

# The configuration file is installed only where there is none yet, so
# that make install never overwrites one that was edited.
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/portkeeper $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0755 $(BUILD)/portkeeper $(DESTDIR)$(BINDIR)/portkeeper
	$(INSTALL) -m 0755 $(BUILD)/portkeeperd $(DESTDIR)$(SBINDIR)/portkeeperd
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR)/portkeeper
	$(INSTALL) -m 0755 $(BUILD)/portkeeper-probe-server \
	    $(DESTDIR)$(LIBEXECDIR)/portkeeper/portkeeper-probe-server
	$(INSTALL) -m 0755 $(BUILD)/portkeeperd-web \
	    $(DESTDIR)$(LIBEXECDIR)/portkeeper/portkeeperd-web
	[ -e $(DESTDIR)$(SYSCONFDIR)/portkeeper/portkeeper.conf ] || \
	    $(INSTALL) -m 0644 packaging/portkeeper.conf \
	    $(DESTDIR)$(SYSCONFDIR)/portkeeper/portkeeper.conf
	sed 's|/usr/sbin/portkeeperd|$(SBINDIR)/portkeeperd|' \
	    packaging/portkeeper.service > $(DESTDIR)$(UNITDIR)/portkeeper.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/portkeeper.service
	$(INSTALL) -m 0644 docs/man/portkeeper.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 docs/man/portkeeper.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 docs/man/portkeeperd.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 packaging/bash-completion/portkeeper \
	    $(DESTDIR)$(BASHCOMPDIR)/portkeeper
	ln -sf portkeeper $(DESTDIR)$(BASHCOMPDIR)/portkeeperd
	$(INSTALL) -m 0644 README.md docs/api.md $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 packaging/hooks/ddclient-update \
	    $(DESTDIR)$(DOCDIR)/examples/

# The Debian package (packaging/debian), built by dpkg-buildpackage in a copy
# of this tree with debian/ at its top, into $(BUILD)/.  make deb ARCH=arm64
# cross-builds (into build-arm64/).  DEBVERSION=V builds it as version V,
# with a changelog entry added to the copy only (the upgrade test runs that
# in the first build's copy, so that both builds are of the same sources).
DEB_ARCH	= $(or $(ARCH),$(shell dpkg --print-architecture))
DEB_STAGE	= $(BUILD)/deb-$(DEB_ARCH)
# A cross-build cannot run the unit tests, nor need cmocka for the host.
DEB_CROSS	= $(filter-out $(shell dpkg --print-architecture),$(ARCH))
COMMA		:= ,
deb:
	rm -rf $(DEB_STAGE)
	mkdir -p $(DEB_STAGE)/portkeeper $(BUILD)
	tar -cf - --exclude=./.git --exclude='./build' --exclude='./build-*' \
	    --exclude='./$(BUILD)' --exclude=node_modules --exclude=./debian . | \
	    tar -xf - -C $(DEB_STAGE)/portkeeper
	cp -R packaging/debian $(DEB_STAGE)/portkeeper/debian
	if [ -n "$(DEBVERSION)" ]; then \
	    c=$(DEB_STAGE)/portkeeper/debian/changelog; \
	    { printf 'portkeeper (%s) unstable; urgency=medium\n\n' \
	        "$(DEBVERSION)"; \
	      printf '  * Rebuilt as version %s.\n\n' "$(DEBVERSION)"; \
	      printf ' -- %s  %s\n\n' "$$(sed -n 's/^ -- \(.*>\)  .*/\1/p;T;q' $$c)" \
	        "$$(date -R)"; cat $$c; } > $$c.new && mv $$c.new $$c; \
	fi
	cd $(DEB_STAGE)/portkeeper && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    -u ARCH -u BUILD -u DEBVERSION -u PK_VERSION \
	    $(if $(DEB_CROSS),DEB_BUILD_OPTIONS="nocheck $$DEB_BUILD_OPTIONS") \
	    dpkg-buildpackage -us -uc -b -Jauto $(if $(ARCH),-a$(ARCH)) \
	    $(if $(DEB_CROSS),-Pcross$(COMMA)nocheck)
	mv $(DEB_STAGE)/*.deb $(BUILD)/
	@ls -1 $(BUILD)/*.deb

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(PROBED_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(UNIT_BINS:=.d) \
	 $(TOOL_BINS:=.d) \
	 $(FUZZ_REPLAY:=.d) $(FUZZ_BINS:=.d) $(BUILD)/tests/fuzz-replay.d
