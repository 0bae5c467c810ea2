# portkeeper — see README.md.  Cross-builds take CC and PKG_CONFIG from the
# environment, e.g. make CC=aarch64-linux-gnu-gcc PKG_CONFIG=aarch64-linux-gnu-pkg-config

CC		?= cc
PKG_CONFIG	?= pkg-config
CFLAGS		?= -O2 -g
BUILD		?= build

PKGS		:= miniupnpc libcjson inih libmicrohttpd
PK_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -MMD -MP \
		   $(shell $(PKG_CONFIG) --cflags $(PKGS))
# libnatpmp ships no pkg-config file.
PK_LIBS		:= $(shell $(PKG_CONFIG) --libs $(PKGS)) -lnatpmp -lpthread

# Every Debian package needed to build, test, benchmark and demo.
DEPS_PKGS	:= gcc make pkgconf libminiupnpc-dev libnatpmp-dev libcjson-dev \
		   libmicrohttpd-dev libcmocka-dev libinih-dev miniupnpd-nftables miniupnpc natpmpc \
		   nftables iproute2 python3 curl procps psmisc

# The command line tool, the daemon's own files, and the library: every
# other module in daemon/, shared by both programs and the unit tests.
CLI_SRCS	:= daemon/portkeeper.c daemon/cli.c $(wildcard daemon/cmd_*.c)
DAEMON_SRCS	:= $(wildcard daemon/portkeeperd.c daemon/pkd_*.c)
LIB_SRCS	:= $(filter-out $(CLI_SRCS) $(DAEMON_SRCS),$(wildcard daemon/*.c))
LIB_OBJS	:= $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS	:= $(CLI_SRCS:%.c=$(BUILD)/%.o)
DAEMON_OBJS	:= $(DAEMON_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps check unit integration demo bench clean
all: $(BUILD)/portkeeper $(BUILD)/portkeeperd

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PK_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libportkeeper.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/portkeeper: $(CLI_OBJS) $(BUILD)/libportkeeper.a
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ $^ $(PK_LIBS)

$(BUILD)/portkeeperd: $(DAEMON_OBJS) $(BUILD)/libportkeeper.a
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ $^ $(PK_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libportkeeper.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PK_CFLAGS) $(CFLAGS) -o $@ $< \
	    $(BUILD)/libportkeeper.a $(PK_LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

deps:
	@missing=$$(for p in $(DEPS_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	    echo "make deps: missing Debian packages:" $$missing; \
	    echo "make deps: run as root to install them"; exit 1; fi; \
	echo "make deps: installing" $$missing; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing

unit: $(UNIT_BINS)

check: deps
	$(MAKE) all unit
	tests/run.sh $(BUILD)

demo: deps
	$(MAKE) all
	tests/demo.sh $(BUILD)/portkeeper

bench: deps
	$(MAKE) all
	bench/bench.sh $(BUILD)/portkeeper

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(UNIT_BINS:=.d)
