# The test-only engine kind (src/engines/sample/), the proof of the engine boundary, exists
# only with provisioning.test_engine_kinds: without it there is no such kind, an engine of
# it is refused, and no session can turn it on. With it, the kind survives the crash
# points of each of its steps as the production kinds do (test/t/lib/CrashResume.pm).
use strict;
use warnings;
use Test::More;
use PostgreSQL::Test::Cluster;
use CrashResume;

my $node = PostgreSQL::Test::Cluster->new('no_test_kinds');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');
is($node->safe_psql('postgres', 'SHOW provisioning.test_engine_kinds'), 'off', 'the setting is off by default');
is($node->safe_psql('postgres', "SELECT count(*) FROM provisioning.engine_kinds WHERE kind = 'sample'"),
	'0', 'without it, the kind does not exist');
is($node->safe_psql('postgres', "SELECT count(*) FROM provisioning.step_catalog WHERE engine_kind = 'sample'"),
	'0', 'nor its catalog');
is($node->safe_psql('postgres', "SELECT string_agg(kind, ',' ORDER BY kind) FROM provisioning._driver_kinds()"),
	'erpnext,odoo', 'the drivers declare the production kinds only');
my ($ret, $out, $err) = $node->psql('postgres', "INSERT INTO provisioning.engines (name, kind, base_url)
	VALUES ('no_sample', 'sample', 'http://no_sample.localhost')");
like($err, qr/violates foreign key constraint "engines_kind_fkey"/, 'an engine of the kind is refused');
($ret, $out, $err) = $node->psql('postgres', 'SET provisioning.test_engine_kinds = on');
like($err, qr/cannot be changed without restarting the server/, 'a session cannot turn the setting on');
$node->stop;

crash_resume('sample');
done_testing();
