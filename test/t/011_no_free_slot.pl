# A step worker that cannot start is no failure: with every max_worker_processes slot taken
# by the launcher and four run workers, each run worker executes its steps itself (a step
# with no slot waits for its run worker), and every run completes with exactly one of
# everything.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;

my $port = sim_port();
my $node = PostgreSQL::Test::Cluster->new('no_free_slot');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.max_workers = 4
max_worker_processes = 5
log_min_messages = debug1
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');

my @sites = map { "noslot$_" } 1 .. 4;
sim(POST => '/reset', { site => "$_.localhost" }) for @sites;
sim(POST => '/latency', { ms => 20 });
# the four runs start in one transaction, so each holds its run worker's slot from the start
$node->safe_psql('postgres', join('', map { qq{
	INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
	VALUES ('$_', 'erpnext', 'http://$_.localhost:$port', 'simkey', 'simsecret');
	INSERT INTO provisioning.tenants (name, engine, settings) VALUES ('Retail $_', '$_', '{"include_demo_data": true}');} } @sites));
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM provisioning.tenants WHERE provisioning_status = 'PROVISIONING'"),
	'the runs end');
is($node->safe_psql('postgres', "SELECT string_agg(DISTINCT provisioning_status, ',') FROM provisioning.tenants"),
	'PROVISIONED', 'every tenant is provisioned');
my %expected = ('Fiscal Year' => 1, 'Company' => 1, 'Warehouse' => 7, 'Customer' => 1,
	'POS Profile' => 1, 'POS Opening Entry' => 1, 'Item' => 3);
for my $site (@sites)
{
	ok(engine_settled("$site.localhost"), "$site: the engine answered every request it received");
	my $summary = sim(GET => "/summary?site=$site.localhost");
	is_deeply({ map { $_ => $summary->{$_} } keys %expected }, \%expected, "$site: the engine holds exactly one of everything");
}
like(slurp_file($node->logfile),
	qr/no background worker slot for step \w+; (the run worker executes it|it waits for the run worker or a free slot)/,
	'a step found no free slot and was left to its run worker');
sim(POST => '/latency', { ms => 0 });
$node->stop;
done_testing();
