# Crash safety (spec section 8): the server is stopped in immediate mode in the middle of
# each step in turn, while the engine holds a creating request of that step; the run
# resumes after the restart, finishes COMPLETED, and the engine holds exactly one of
# everything. The engine applies the interrupted request 4.5 s after it arrived, after the
# server is back: a resumed run creates nothing it does not find until write_settle_ms (6 s)
# has passed since it resumed; one that created at once would make the customer twice.
# Also: a killed run worker, and a fast shutdown with runs in flight.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;
use Time::HiRes qw(time sleep);

my $sim_port = sim_port();




my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_connect_timeout_ms = 1000
provisioning.http_timeout_ms = 6000
provisioning.write_settle_ms = 6000
provisioning.http_retry_delay_ms = 20
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');

my %expected = ('Fiscal Year' => 1, 'Company' => 1, 'Warehouse' => 7, 'Customer' => 1,
	'POS Profile' => 1, 'POS Opening Entry' => 1, 'Item' => 3);

sub new_tenant
{
	my ($site, $name) = @_;
	$node->safe_psql('postgres', qq{
		INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
		VALUES ('$site', 'erpnext', 'http://$site.localhost:$sim_port', 'simkey', 'simsecret');
		INSERT INTO provisioning.tenants (name, engine, settings)
		VALUES ('$name', '$site', '{"include_demo_data": true}')});
}

sub check_finished
{
	my ($site, $name, $what) = @_;
	ok($node->poll_query_until('postgres',
		"SELECT provisioning_status <> 'PROVISIONING' FROM provisioning.tenants WHERE name = '$name'"),
		"$what: the run ends");
	is($node->safe_psql('postgres', "SELECT provisioning_status FROM provisioning.tenants WHERE name = '$name'"),
		'PROVISIONED', "$what: the tenant is provisioned");
	ok(engine_settled("$site.localhost"), "$what: the engine answered every request it received");
	my $summary = sim(GET => "/summary?site=$site.localhost");
	is_deeply({ map { $_ => $summary->{$_} } keys %expected }, \%expected,
		"$what: the engine holds exactly one of everything");
}

# The request of each step that is in the engine when the server stops.
my @crash_points = (
	[ 'step_0_engine_check',      'GET',  'get_logged_user' ],
	[ 'step_1_fiscal_year',       'POST', '^/api/resource/Fiscal Year' ],
	[ 'step_2_company',           'POST', '^/api/resource/Company' ],
	[ 'step_3_chart_of_accounts', 'GET',  'get_count' ],
	[ 'step_4_warehouses',        'POST', '^/api/resource/Warehouse' ],
	[ 'step_5_settings',          'PUT',  '^/api/resource/Stock Settings' ],
	[ 'step_6_items',             'POST', '^/api/resource/Item' ],
	[ 'step_7_customer',          'POST', '^/api/resource/Customer' ],
	[ 'step_8_pos_profile',       'POST', '^/api/resource/POS Profile' ],
	[ 'step_9_pos_session',       'POST', '^/api/resource/POS Opening Entry' ]);

for my $i (0 .. $#crash_points)
{
	my ($step, $method, $path) = @{ $crash_points[$i] };
	my $site = "crash$i";
	sim(POST => '/reset', { site => "$site.localhost" });
	sim(POST => '/faults', { site => "$site.localhost", method => $method, path => $path,
		action => 'delay', delay_ms => 4500, times => 1 });
	new_tenant($site, "Crash $i");
	ok(wait_for_delayed_request("$site.localhost"), "$step: the engine is working on its request");
	$node->stop('immediate');
	$node->start;
	check_finished($site, "Crash $i", "crash in $step");
}

# A run worker killed in the middle of a step: the launcher starts it again.
sim(POST => '/reset', { site => 'killed.localhost' });
sim(POST => '/faults', { site => 'killed.localhost', method => 'POST', path => '^/api/resource/Customer',
	action => 'delay', delay_ms => 1500, times => 1 });
new_tenant('killed', 'Killed');
ok(wait_for_delayed_request('killed.localhost'), 'killed worker: the engine is working on its request');
is($node->safe_psql('postgres',
	"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'provisioning run' AND state = 'active'"),
	'1', 'the run worker is terminated');
check_finished('killed', 'Killed', 'terminated worker');

# A fast shutdown with a request in flight does not wait for the engine.
sim(POST => '/reset', { site => 'shutdown.localhost' });
sim(POST => '/faults', { site => 'shutdown.localhost', method => 'POST', path => '^/api/resource/Company',
	action => 'delay', delay_ms => 20000, times => 1 });
new_tenant('shutdown', 'Shutdown');
ok(wait_for_delayed_request('shutdown.localhost'), 'fast shutdown: the engine is working on a slow request');
my $start = time();
$node->stop('fast');
cmp_ok(time() - $start, '<', 10, 'a fast shutdown does not wait for the engine');
$node->start;
check_finished('shutdown', 'Shutdown', 'after the fast shutdown');

sim(DELETE => '/faults');
$node->stop;
done_testing();
