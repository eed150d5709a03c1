# Upgrading a database the workers serve (spec section 1). A new library is installed and the
# server restarted: the database is still on version 1.1, with finished runs, a queued run
# and a run the restart interrupted in the middle of a step. The workers wait for the schema
# they work with and touch nothing; ALTER EXTENSION provisioning UPDATE hands them the
# queue, and both runs finish COMPLETED with nothing duplicated in the engine; finished runs
# and their logs are unchanged. Then the rollback to 1.1 keeps every row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;

my $sim_port = sim_port();

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_connect_timeout_ms = 1000
provisioning.http_timeout_ms = 6000
provisioning.http_retry_delay_ms = 20
provisioning.write_settle_ms = 2000
});
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION provisioning");
my $default_version = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'provisioning'");

sub new_tenant
{
	my ($site) = @_;
	sim(POST => '/reset', { site => "$site.localhost" });
	$node->safe_psql('postgres', qq{
		INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
		VALUES ('$site', 'erpnext', 'http://$site.localhost:$sim_port', 'simkey', 'simsecret');
		INSERT INTO provisioning.tenants (name, engine) VALUES ('Tenant $site', '$site')});
}

sub tenant_status
{
	my ($site) = @_;
	return $node->safe_psql('postgres', "SELECT provisioning_status FROM provisioning.tenants WHERE engine = '$site'");
}

# Two tenants provisioned, then the schema as a 1.1 install has it (the rollback script).
new_tenant($_) for qw(done1 done2);
ok($node->poll_query_until('postgres',
	"SELECT bool_and(provisioning_status = 'PROVISIONED') FROM provisioning.tenants"), 'two tenants provisioned');
$node->safe_psql('postgres', "ALTER EXTENSION provisioning UPDATE TO '1.1'");

# What must not change: the runs finished now, and their log rows.
$node->safe_psql('postgres', 'CREATE TABLE finished AS SELECT id FROM provisioning.tenant_onboarding');
my $finished = q{
	SELECT md5(string_agg(r, '' ORDER BY r)) FROM (
	  -- without the columns later versions add (claimed_at: 1.2; the cancel's: 1.3), empty for them
	  SELECT (row_to_json(o)::jsonb - 'claimed_at' - 'prior_tenant_status' - 'cancel_requested_at'
	          - 'cancel_reason')::text AS r
	    FROM provisioning.tenant_onboarding o WHERE id IN (SELECT id FROM finished)
	  UNION ALL
	  SELECT row_to_json(l)::text FROM provisioning.run_log l WHERE run_id IN (SELECT id FROM finished)) s};
my $before = $node->safe_psql('postgres', $finished);

# A queued run, and a run the restart interrupted in its first step: on 1.1 nobody touches them.
new_tenant('queued');
new_tenant('inflight');
$node->safe_psql('postgres', q{
	UPDATE provisioning.tenant_onboarding o
	   SET status = 'IN_PROGRESS', started_at = now(),
	       provisioning_steps = jsonb_set(provisioning_steps, '{0}',
	                                      provisioning_steps->0 || '{"status": "running", "attempts": 1}')
	  FROM provisioning.tenants t WHERE t.id = o.tenant_id AND t.engine = 'inflight'});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'provisioning launcher'"),
	'the launcher serves the database');
is($node->safe_psql('postgres', q{
	SELECT string_agg(o.status, ',' ORDER BY t.engine) FROM provisioning.tenant_onboarding o
	  JOIN provisioning.tenants t ON t.id = o.tenant_id WHERE t.engine IN ('inflight', 'queued')}),
	'IN_PROGRESS,PENDING', 'on 1.1 the runs wait: the workers run nothing on a schema older than theirs');
is(scalar(@{ sim(GET => '/requests?site=queued.localhost') }) + scalar(@{ sim(GET => '/requests?site=inflight.localhost') }),
	0, 'and no engine was called');

$node->safe_psql('postgres', 'ALTER EXTENSION provisioning UPDATE');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'provisioning'"),
	$default_version, "updated to $default_version");
ok($node->poll_query_until('postgres', "SELECT provisioning_status <> 'PROVISIONING' FROM provisioning.tenants WHERE engine = 'queued'"),
	'the queued run ends');
is(tenant_status('queued'), 'PROVISIONED', 'its tenant is provisioned');
ok($node->poll_query_until('postgres', "SELECT provisioning_status <> 'PROVISIONING' FROM provisioning.tenants WHERE engine = 'inflight'"),
	'the run in flight ends');
is(tenant_status('inflight'), 'PROVISIONED', 'the interrupted run resumed and its tenant is provisioned');
is($node->safe_psql('postgres', q{
	SELECT string_agg(o.status, ',') FROM provisioning.tenant_onboarding o
	  JOIN provisioning.tenants t ON t.id = o.tenant_id WHERE t.engine = 'inflight'}),
	'COMPLETED', 'by one run, COMPLETED');
ok(engine_settled('inflight.localhost'), 'the engine answered every request it received');
my $summary = sim(GET => '/summary?site=inflight.localhost');
my %expected = ('Fiscal Year' => 1, 'Company' => 1, 'Warehouse' => 7, 'Customer' => 1,
	'POS Profile' => 1, 'POS Opening Entry' => 1, 'Item' => 0);
is_deeply({ map { $_ => $summary->{$_} } keys %expected }, \%expected, 'the engine holds exactly one of everything');
is($node->safe_psql('postgres', $finished), $before, 'the finished runs and their logs are unchanged');

# The rollback keeps every row.
my $counts = q{
	SELECT format('%s tenants, %s engines, %s members, %s runs, %s log rows',
	  (SELECT count(*) FROM provisioning.tenants), (SELECT count(*) FROM provisioning.engines),
	  (SELECT count(*) FROM provisioning.tenant_members), (SELECT count(*) FROM provisioning.tenant_onboarding),
	  (SELECT count(*) FROM provisioning.run_log))};
my $rows = $node->safe_psql('postgres', $counts);
$node->safe_psql('postgres', "ALTER EXTENSION provisioning UPDATE TO '1.1'");
is($node->safe_psql('postgres', $counts), $rows, "back on 1.1 with every row ($rows)");
is($node->safe_psql('postgres', $finished), $before, 'and the finished runs and their logs as they were');

sim(DELETE => '/faults');
$node->stop;
done_testing();
