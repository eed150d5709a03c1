# DROP EXTENSION and DROP DATABASE while a run worker is in the middle of an engine call:
# neither waits for the engine, and no run worker is left behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;
use Time::HiRes qw(time);

my $sim_port = sim_port();

my $node = PostgreSQL::Test::Cluster->new('drop');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'dropme'
provisioning.http_timeout_ms = 3000
});
$node->start;

sub busy_worker
{
	my ($site) = @_;
	sim(POST => '/reset', { site => "$site.localhost" });
	sim(POST => '/faults', { site => "$site.localhost", method => 'POST', path => '^/api/resource/Company',
		action => 'delay', delay_ms => 20000, times => 1 });
	$node->safe_psql('dropme', qq{
		CREATE EXTENSION IF NOT EXISTS provisioning;
		INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
		VALUES ('$site', 'erpnext', 'http://$site.localhost:$sim_port', 'simkey', 'simsecret');
		INSERT INTO provisioning.tenants (name, engine) VALUES ('Busy', '$site')});
	return wait_for_delayed_request("$site.localhost");
}

sub no_run_workers
{
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'provisioning run'");
}

$node->safe_psql('postgres', 'CREATE DATABASE dropme');
ok(busy_worker('dropext'), 'a run worker waits on the engine');
my $start = time();
$node->safe_psql('dropme', 'DROP EXTENSION provisioning');
cmp_ok(time() - $start, '<', 5, 'DROP EXTENSION does not wait for the engine');
ok(no_run_workers(), 'no run worker is left after DROP EXTENSION');

ok(busy_worker('dropdb'), 'again a run worker waits on the engine');
$start = time();
$node->safe_psql('postgres', 'DROP DATABASE dropme WITH (FORCE)');
cmp_ok(time() - $start, '<', 10, 'DROP DATABASE ... WITH (FORCE) does not wait for the engine');
ok(no_run_workers(), 'no run worker is left after DROP DATABASE');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'dropme'"), '0', 'the database is gone');

# the database comes back: so does the launcher
$node->safe_psql('postgres', 'CREATE DATABASE dropme');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'provisioning launcher' AND datname = 'dropme'"),
	'the launcher reconnects once the database exists again');

sim(DELETE => '/faults');
$node->stop;
done_testing();
