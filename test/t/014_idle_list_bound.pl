# The idle run workers' list in shared memory holds 64 latches (MAX_RUN_WORKERS, the
# largest provisioning.max_workers). A launcher that restarts forgets the workers it
# started and may start max_workers more, so more workers than the list holds can look
# for a place in it. Here 64 workers go idle, the launcher is killed, and the restarted
# launcher's 16 workers find no run while the 64 still wait for work: none may be written
# past the list's end (the lock of engine_health lies just after it). Then every tenant is
# provisioned, every worker leaves, and the postmaster never restarted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;
use Time::HiRes qw(time sleep);

my $list = 64;    # MAX_RUN_WORKERS in src/provisioning.h
my $more = 16;    # workers of the restarted launcher
my $port = sim_port();
my $node = PostgreSQL::Test::Cluster->new('idle_list_bound');
$node->init;
# A lock wait leaves its deadlock_timeout alarm set (PostgreSQL does not cancel it), which
# wakes the worker once more, idle by then: it would look for work and take the runs meant
# for the restarted launcher's workers. 60 s puts that wake after the test.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.max_workers = $list
provisioning.max_parallel_steps = 1
max_worker_processes = @{[ $list + $more + 8 ]}
max_prepared_transactions = 1
deadlock_timeout = 60s
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');
my $postmaster_start = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# one simulated site per tenant; the runs are queued below, not at the insert
my @sites = map { "idle$_" } 1 .. $list + $more;
sim(POST => '/reset', { site => "$_.localhost" }) for @sites;
$node->safe_psql('postgres', join('', 'SET provisioning.auto_start = off;', map { qq{
	INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
	VALUES ('$_', 'erpnext', 'http://$_.localhost:$port', 'simkey', 'simsecret');
	INSERT INTO provisioning.tenants (name, engine) VALUES ('Retail $_', '$_');} } @sites));

# Polls a query until it returns 't', for up to $seconds; false when the deadline passed.
sub wait_until
{
	my ($seconds, $query) = @_;
	my $deadline = time() + $seconds;
	until ($node->safe_psql('postgres', $query) eq 't')
	{
		return 0 if time() > $deadline;
		sleep 0.05;
	}
	return 1;
}

# The number of run workers, those matching $filter if given.
sub run_workers
{
	my ($filter) = @_;
	return "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'provisioning run'"
	  . ($filter ? " AND $filter" : '') . ')';
}

# waiting for work (one held at its claim waits on a lock)
my $idle = "wait_event_type = 'Extension'";

# Queues runs for the tenants of @$sites and restarts the launcher, which forgets the
# workers it had and starts one for each run. A prepared transaction's runs wake no idle
# worker, so only the restarted launcher's first pass finds them (it fires no trigger,
# as on a replica: a NOTIFY cannot be prepared). The run table is locked meanwhile, so
# that the workers wait at their claim while $idle_before others idle; the runs are then
# deleted, and each worker finds no run.
sub park_workers
{
	my ($sites, $idle_before) = @_;
	my $n = @$sites;
	$node->safe_psql('postgres', "BEGIN; SET LOCAL session_replication_role = replica;
		SELECT provisioning.provision_start(id) FROM provisioning.tenants
		 WHERE engine IN (" . join(', ', map { "'$_'" } @$sites) . ");
		PREPARE TRANSACTION 'park'");
	my $holder = $node->background_psql('postgres');
	$holder->query_until(qr/begun/, "BEGIN;\n\\echo begun\n"
		  . "LOCK TABLE provisioning.tenant_onboarding IN SHARE MODE;\n\\echo locked\n");
	ok(wait_until(30, "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND mode = 'ShareLock'
		AND relation = 'provisioning.tenant_onboarding'::regclass)"),
		'the run table\'s lock waits for the prepared runs');
	$node->safe_psql('postgres', "COMMIT PREPARED 'park'");
	$holder->query_until(qr/locked/, '');

	my $launcher = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'provisioning launcher'");
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
	ok(wait_until(30, "SELECT EXISTS (SELECT FROM pg_stat_activity
		WHERE backend_type = 'provisioning launcher' AND pid <> $launcher)"), 'the launcher restarts');
	ok(wait_until(60, "SELECT " . run_workers("wait_event_type = 'Lock'") . " = $n"),
		"the restarted launcher starts $n workers, held at their claim");
	is($node->safe_psql('postgres', 'SELECT ' . run_workers($idle)), $idle_before,
		"meanwhile $idle_before run workers idle");
	$holder->query_safe("DELETE FROM provisioning.tenant_onboarding WHERE status = 'PENDING'");
	$holder->query_safe('COMMIT');
	$holder->quit;
}

park_workers([ @sites[ 0 .. $list - 1 ] ], 0);
ok(wait_until(10, "SELECT " . run_workers($idle) . " = $list"), "$list run workers idle");
park_workers([ @sites[ $list .. $#sites ] ], $list);
# the 64 idle ones stay for 10 s: the others either leave at once or join them
ok(wait_until(5, "SELECT " . run_workers() . " <= $list"),
	'within 5 s no more run workers are left than the idle list holds');

my ($health, $timed_out) = ('', 0);
$node->psql('postgres', "SELECT status FROM jsonb_to_recordset(provisioning.engine_health(ARRAY(
		SELECT id FROM provisioning.tenants WHERE engine = 'idle1'))) AS h(status text)",
	stdout => \$health, timeout => 30, timed_out => \$timed_out);
is($health, 'online', 'engine_health answers: its lock, just after the idle list, is intact');

# more runs, one transaction each: each is handed to an idle worker, or to the launcher
$node->safe_psql('postgres', join(";\n",
	map { "SELECT provisioning.provision_start(id) FROM provisioning.tenants WHERE engine = '$_'" } @sites));
ok(wait_until(240, "SELECT count(*) FILTER (WHERE provisioning_status = 'PROVISIONED') = "
	  . scalar(@sites) . " FROM provisioning.tenants"),
	'every tenant is provisioned by the runs started after the restarts')
  or diag($node->safe_psql('postgres',
	"SELECT provisioning_status, count(*) FROM provisioning.tenants GROUP BY 1"));
ok(wait_until(40, "SELECT " . run_workers() . ' = 0'), 'every run worker leaves after its 10 s idle wait');

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $postmaster_start,
	'the postmaster never restarted');
unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no process crashed');
$node->stop;
done_testing();
