# provisioning: PGXS build.  `make && make install` builds the extension;
# `make demo` and `make test` install the Debian packages they need first.

EXTENSION  = provisioning
MODULE_big = provisioning
OBJS       = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA       = $(wildcard sql/provisioning--*.sql)
PGFILEDESC = "provisioning - tenant workspace provisioning in background workers"

PG_CFLAGS  = -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare \
             -Wmissing-prototypes -Werror
SHLIB_LINK = -lcurl

# Debian installs one pg_config per major version; prefer 15's.
PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

# PGXS knows nothing of our headers; a struct changed in one must rebuild every object.
$(OBJS): $(wildcard src/*.h)

.PHONY: deps demo test bench
deps:
	scripts/install-deps.sh

demo: deps
	UI=$(UI) scripts/demo.sh

test: deps
	test/run.sh

bench: deps
	bench/run.sh
