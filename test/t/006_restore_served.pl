# Restoring a dump into the database the workers serve: after DROP DATABASE ... WITH (FORCE)
# and pg_restore into the same name, every engine, tenant, member, run and log row is back,
# nothing is queued (not even for tenants that were never provisioned), and the launcher
# serves the database again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;

my $sim_port = sim_port();
my $node = PostgreSQL::Test::Cluster->new('restore');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'served'
provisioning.http_timeout_ms = 3000
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE served');
$node->safe_psql('served', 'CREATE EXTENSION provisioning');

# a site of the simulated engine each (one open POS session per cashier and site)
for my $i (1 .. 4)
{
	sim(POST => '/reset', { site => "restore$i.localhost" });
	$node->safe_psql('served', qq{
		INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
		VALUES ('restore$i', 'erpnext', 'http://restore$i.localhost:$sim_port', 'simkey', 'simsecret')});
}
$node->safe_psql('served', qq{
	INSERT INTO provisioning.tenants (name, engine) VALUES ('Restored One', 'restore1'), ('Restored Two', 'restore2');
	SET provisioning.auto_start = off;
	INSERT INTO provisioning.tenants (name, engine) VALUES ('Never Started', 'restore3');
	INSERT INTO provisioning.tenant_members SELECT id, 'member-' || name, 'owner' FROM provisioning.tenants;});
ok($node->poll_query_until('served',
	"SELECT count(*) = 2 FROM provisioning.tenants WHERE provisioning_status = 'PROVISIONED'"),
	'two tenants are provisioned before the dump');

my $fingerprint = q{
	SELECT (SELECT count(*) || ':' || md5(string_agg(name || base_url || coalesce(api_secret, ''), ',' ORDER BY name)) FROM provisioning.engines)
	    || ' ' || (SELECT count(*) || ':' || md5(string_agg(id || provisioning_status || settings::text, ',' ORDER BY id)) FROM provisioning.tenants)
	    || ' ' || (SELECT count(*) || ':' || md5(string_agg(tenant_id || user_id || role, ',' ORDER BY tenant_id, user_id)) FROM provisioning.tenant_members)
	    || ' ' || (SELECT count(*) || ':' || md5(string_agg(id || status || provisioning_steps::text, ',' ORDER BY id)) FROM provisioning.tenant_onboarding)
	    || ' ' || (SELECT count(*) || ':' || md5(string_agg(id || status || coalesce(message, ''), ',' ORDER BY id)) FROM provisioning.run_log)};
my $before = $node->safe_psql('served', $fingerprint);

my $dump = $PostgreSQL::Test::Utils::tmp_check . '/served.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('served') ], 'pg_dump of the served database');
$node->safe_psql('postgres', 'DROP DATABASE served WITH (FORCE)');
$node->safe_psql('postgres', 'CREATE DATABASE served');
my $ok = $node->run_log([ 'pg_restore', '-d', $node->connstr('served'), $dump ]);
ok($ok, 'pg_restore into the served database succeeds');

is($node->safe_psql('served', $fingerprint), $before, 'engines, tenants, members, runs and logs are all back');
is($node->safe_psql('served', "SELECT count(*) FROM provisioning.tenant_onboarding WHERE status IN ('PENDING', 'IN_PROGRESS')"),
	'0', 'the restore queued no run');
is($node->safe_psql('served', "SELECT provisioning_status FROM provisioning.tenants WHERE name = 'Never Started'"),
	'NOT_PROVISIONED', 'the tenant never started stays so');

ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'provisioning launcher' AND datname = 'served'"),
	'the launcher serves the restored database');
$node->safe_psql('served', "INSERT INTO provisioning.tenants (name, engine) VALUES ('After Restore', 'restore4')");
ok($node->poll_query_until('served',
	"SELECT provisioning_status = 'PROVISIONED' FROM provisioning.tenants WHERE name = 'After Restore'"),
	'a tenant inserted after the restore is provisioned');
is($node->safe_psql('served', "SELECT count(*) FROM provisioning.run_log l JOIN provisioning.tenants t ON t.id = l.tenant_id WHERE t.name = 'After Restore' AND l.status = 'PENDING'"),
	'1', 'its run logged after the restored history, identities intact');

$node->stop;
done_testing();
