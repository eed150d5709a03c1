# provisioning: PGXS build.  `make && make install` builds the extension;
# `make demo` and `make test` install the Debian packages they need first.

EXTENSION  = provisioning
MODULE_big = provisioning
OBJS       = $(patsubst %.c,%.o,$(wildcard src/*.c src/engines/*/*.c))
# The SQL scripts: the current version's objects are defined once, in sql/src (README, "SQL
# layout"); make builds from them the full install script and the upgrade script(s) to the
# current version that have a template in sql/upgrade. Both are committed (so `make install`
# needs nothing but make and awk), and `make sql-check` fails when one differs from what
# sql/src gives. Released scripts are plain files.
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" provisioning.control)
# concatenated in this order: each file uses only what the files before it define
SQL_SRC    = $(addprefix sql/src/,tables.sql catalog.sql roles_and_access.sql engines.sql companies.sql \
                                  queue.sql status.sql retry.sql api.sql lifecycle.sql worker.sql notify.sql metrics.sql \
                                  health.sql privileges.sql ready.sql)
SQL_UPGRADE_IN = $(wildcard sql/upgrade/*.sql.in)
SQL_BUILT  = sql/provisioning--$(EXTVERSION).sql $(patsubst sql/upgrade/%.sql.in,sql/provisioning--%.sql,$(SQL_UPGRADE_IN))
DATA       = $(sort $(wildcard sql/provisioning--*.sql) $(SQL_BUILT))
PGFILEDESC = "provisioning - tenant workspace provisioning in background workers"

PG_CFLAGS  = -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare \
             -Wmissing-prototypes -Werror
SHLIB_LINK = -lcurl
# PostgreSQL loads libraries with RTLD_GLOBAL and PGXS 15 hides nothing: export only the
# entry points (marked PGDLLEXPORT), so http_request & co. never bind to another library's.
PG_CFLAGS += -fvisibility=hidden
PG_CPPFLAGS = '-DPGDLLEXPORT=__attribute__((visibility("default")))' -I$(srcdir)/src

# PostgreSQL's own test targets (pgvector's way), against an installed, running server:
#   make installcheck        test/sql/*.sql with pg_regress against expected/ (test/expected
#                            links there), in database contrib_regression (CONTRIB_TESTDB=...
#                            names another), which must be the server's provisioning.database_name
#   make prove_installcheck  test/t/*.pl with prove and PostgreSQL::Test::Cluster (each test
#                            makes its own clusters from the installed binaries)
# The extension's workers keep a connection to the database they serve, so pg_regress
# cannot drop and re-create it as usual: it uses the database as it is (--use-existing)
# after installcheck-prep has created it and the extension where missing.
REGRESS       = $(sort $(patsubst test/sql/%.sql,%,$(wildcard test/sql/*.sql)))
REGRESS_OPTS  = --inputdir=test --use-existing
REGRESS_PREP  = installcheck-prep
EXTRA_CLEAN   = $(patsubst %.c,%,$(wildcard test/unit/*_test.c))

# Debian installs one pg_config per major version; prefer 15's.
PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

all: $(SQL_BUILT)

SQLGEN = awk -f scripts/sqlgen.awk
sql/provisioning--$(EXTVERSION).sql: $(SQL_SRC) scripts/sqlgen.awk provisioning.control
	$(SQLGEN) -v mode=install -v version=$(EXTVERSION) $(SQL_SRC) > $@.tmp && mv $@.tmp $@
sql/provisioning--%.sql: sql/upgrade/%.sql.in $(SQL_SRC) scripts/sqlgen.awk
	$(SQLGEN) -v mode=upgrade $(SQL_SRC) $< > $@.tmp && mv $@.tmp $@

# Are the committed scripts what sql/src gives? (CI runs this before building; test/run.sh
# after, which catches a generated script edited by hand.)
sql-check:
	@rc=0; \
	$(SQLGEN) -v mode=install -v version=$(EXTVERSION) $(SQL_SRC) | diff -u sql/provisioning--$(EXTVERSION).sql - || rc=1; \
	for in in $(SQL_UPGRADE_IN); do \
	  out=sql/provisioning--$$(basename $$in .sql.in).sql; \
	  $(SQLGEN) -v mode=upgrade $(SQL_SRC) $$in | diff -u $$out - || rc=1; \
	done; \
	if [ $$rc -ne 0 ]; then echo "sql-check: the scripts above differ from what sql/src and sql/upgrade give: run make and commit them" >&2; fi; \
	exit $$rc

# PGXS knows nothing of our headers; a struct changed in one must rebuild every object.
$(OBJS): $(wildcard src/*.h src/engines/*.h src/engines/*/*.h)

# test/unit: the pure code (no SPI, no shared memory, no I/O), built alone and run without a
# server; test/run.sh runs each before the cluster starts.
test/unit/%_test: test/unit/%_test.c src/%.c $(wildcard src/*.h)
	$(CC) $(PG_CFLAGS) -Isrc -o $@ $< src/$*.c

# The tests queue runs, which only the database the workers serve accepts; they also delete
# every tenant they can see, so they never pick that database by themselves.
installcheck-prep:
	@served=$$($(bindir)/psql -X -At -d postgres -c 'SHOW provisioning.database_name' 2>/dev/null); \
	if [ "$$served" != '$(CONTRIB_TESTDB)' ]; then \
	  echo "installcheck needs a server with shared_preload_libraries = 'provisioning' and" \
	       "provisioning.database_name = '$(CONTRIB_TESTDB)' (it serves '$$served'): set them and restart," \
	       "or name a test database the server serves with CONTRIB_TESTDB=..." >&2; \
	  exit 1; \
	fi
	$(bindir)/psql -X -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$(CONTRIB_TESTDB)'" | grep -q 1 \
	  || $(bindir)/createdb '$(CONTRIB_TESTDB)'
	$(bindir)/psql -X -q -v ON_ERROR_STOP=1 -d '$(CONTRIB_TESTDB)' -c 'CREATE EXTENSION IF NOT EXISTS provisioning'

# PGXS's recipe with our Perl module (test/t/lib). initdb refuses root, so as root the tests
# run as postgres; tmp_check must then be theirs.
TAP_OWNER = $(if $(filter 0,$(shell id -u)),runuser -u postgres --)
prove_installcheck:
	rm -rf '$(CURDIR)'/tmp_check && mkdir -p '$(CURDIR)'/tmp_check
	$(if $(TAP_OWNER),chown postgres '$(CURDIR)'/tmp_check)
	$(TAP_OWNER) env TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" PGPORT='6$(DEF_PGPORT)' \
	  PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
	  $(PROVE) $(PG_PROVE_FLAGS) -I test/t/lib $(PROVE_FLAGS) $(if $(PROVE_TESTS),$(PROVE_TESTS),test/t/*.pl)

.PHONY: deps demo test bench installcheck-prep prove_installcheck sql-check
deps:
	scripts/install-deps.sh

demo: deps
	UI=$(UI) scripts/demo.sh

test: deps
	test/run.sh

bench: deps
	bench/run.sh
