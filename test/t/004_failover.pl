# Failover (spec section 10): a primary and a streaming hot standby. On the standby the
# launcher and workers never start, so it never calls an engine. A run is cut in the
# middle of a step: the standby stops receiving WAL while the primary is in step 5 (the
# records of the later steps never reach it, as with asynchronous replication), the
# primary goes on to step 7 and is stopped in immediate mode while the engine holds its
# POST of the customer; the standby is promoted. The run resumes there, at step 5, and
# finishes COMPLETED with exactly one of everything in the engine, although the held POST
# is applied only after the new primary first looked for the customer.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;
use Time::HiRes qw(time);

my $sim_port = sim_port();
my $site = 'failover.localhost';

# http_timeout_ms is shorter than the held POST (7 s), so waiting for the interrupted
# request to time out does not make the resumed step safe: it has to re-check until
# provisioning.write_settle_ms has passed since it resumed.
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_connect_timeout_ms = 1000
provisioning.http_timeout_ms = 4000
provisioning.http_retry_delay_ms = 20
provisioning.write_settle_ms = 8000
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION provisioning');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

my $workers = "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('provisioning launcher', 'provisioning run')";
my $current_step = "SELECT (SELECT provisioning.provision_status(id)->>'current_step' FROM provisioning.tenants WHERE name = 'Failover')";

sim(POST => '/reset', { site => $site });
sim(POST => '/faults', { site => $site, method => 'PUT', path => '^/api/resource/Stock Settings',
	action => 'delay', delay_ms => 2500, times => 1 });
sim(POST => '/faults', { site => $site, method => 'POST', path => '^/api/resource/Customer',
	action => 'delay', delay_ms => 7000, times => 1 });
$primary->safe_psql('postgres', qq{
	INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
	VALUES ('failover', 'erpnext', 'http://$site:$sim_port', 'simkey', 'simsecret');
	INSERT INTO provisioning.tenants (name, engine) VALUES ('Failover', 'failover')});

# The standby follows the run up to step 5, then loses the primary's stream while the
# engine holds step 5's request (2.5 s, within http_timeout_ms: the step succeeds).
ok(wait_for_delayed_request($site, qr{/Stock%20Settings|/Stock Settings}), 'the primary is in step 5');
ok($standby->poll_query_until('postgres', "$current_step = 'step_5_settings'"),
	'the standby replayed the run up to step 5');
is($standby->safe_psql('postgres', $workers), '0', 'no launcher or run worker on the hot standby');
$standby->append_conf('postgresql.conf', "primary_conninfo = ''");
$standby->reload;
ok($standby->poll_query_until('postgres', 'SELECT count(*) = 0 FROM pg_stat_wal_receiver'),
	'the standby no longer receives WAL');

# The primary goes on alone, and stops while the engine holds its POST of the customer.
ok(wait_for_delayed_request($site, qr{/Customer$}), 'the primary is in step 7, posting the customer');
$primary->stop('immediate');
my $stopped_at = time();
is($standby->safe_psql('postgres', $current_step), 'step_5_settings',
	'the standby never saw the steps after step 5');
is($standby->safe_psql('postgres', $workers), '0', 'still no launcher or run worker on the standby');

my $promoted_at = time();
$standby->promote;
ok($standby->poll_query_until('postgres',
	"SELECT provisioning_status <> 'PROVISIONING' FROM provisioning.tenants WHERE name = 'Failover'"),
	'the run ends on the promoted standby');
is($standby->safe_psql('postgres',
	"SELECT string_agg(o.status, ',') FROM provisioning.tenant_onboarding o JOIN provisioning.tenants t ON t.id = o.tenant_id
	  WHERE t.name = 'Failover'"), 'COMPLETED', 'one run, COMPLETED');
ok(engine_settled($site), 'the engine answered every request it received');

# Before the promotion every request came from the primary: one engine check, and none
# from the time the primary stopped until the promotion began.
my @requests = @{ sim(GET => "/requests?site=$site") };
is(scalar(grep { $_->{path} =~ /get_logged_user/ && $_->{t_start} < $promoted_at } @requests), 1,
	'before the promotion the engine was checked once, by the primary');
is_deeply([ map { "$_->{method} $_->{path}" } grep { $_->{t_start} > $stopped_at && $_->{t_start} < $promoted_at } @requests ],
	[], 'no request reached the engine between the primary\'s stop and the promotion');

my %expected = ('Fiscal Year' => 1, 'Company' => 1, 'Warehouse' => 7, 'Customer' => 1,
	'POS Profile' => 1, 'POS Opening Entry' => 1, 'Item' => 0);
my $summary = sim(GET => "/summary?site=$site");
is_deeply({ map { $_ => $summary->{$_} } keys %expected }, \%expected, 'the engine holds exactly one of everything');

sim(DELETE => '/faults');
$standby->stop;
done_testing();
