# The step workers' pool (step_pool.c): a step worker that finished a step waits idle and is
# handed a step of the next run, with no process start in between; and with steps in pooled
# step workers, a crash or a terminated run worker resumes without any step running twice
# (test/t/lib/CrashResume.pm).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;
use CrashResume;

my $port = sim_port();
my $node = PostgreSQL::Test::Cluster->new('step_pool');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');

# A run of a new tenant on site SITE; waits for its end and returns its run id.
sub run_on
{
	my ($site) = @_;
	sim(POST => '/reset', { site => "$site.localhost" });
	$node->safe_psql('postgres', qq{
		INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
		VALUES ('$site', 'erpnext', 'http://$site.localhost:$port', 'simkey', 'simsecret');
		INSERT INTO provisioning.tenants (name, engine, settings) VALUES ('Retail $site', '$site', '{"include_demo_data": true}')});
	ok($node->poll_query_until('postgres',
		"SELECT provisioning_status = 'PROVISIONED' FROM provisioning.tenants WHERE name = 'Retail $site'"),
		"$site: the run completes");
	return $node->safe_psql('postgres', "SELECT o.id FROM provisioning.tenant_onboarding o
		JOIN provisioning.tenants t ON t.id = o.tenant_id WHERE t.name = 'Retail $site'");
}

# Step workers alive now: pid => backend_start
sub step_workers
{
	return map { split /\|/ } split /\n/, $node->safe_psql('postgres',
		"SELECT pid, backend_start FROM pg_stat_activity WHERE backend_type = 'provisioning step'");
}

# steps run at once only with an engine slow enough for a step worker to pay
sim(POST => '/latency', { ms => 40 });
my $first = run_on('poolfirst');
my %before = step_workers();
ok(%before, 'step workers stay after their run ended');
my $second = run_on('poolsecond');
my %after = step_workers();

# which runs' steps each process finished (run_event_step_finished, with its pid)
my %runs_of;
for (split /\n/, slurp_file($node->logfile))
{
	$runs_of{$1}{$2} = 1 if /\[(\d+)\] LOG:  provisioning event=step_finished .* run_id=(\S+)/;
}
my @served_both = grep {
	defined $after{$_} && $after{$_} eq $before{$_} && $runs_of{$_}{$first} && $runs_of{$_}{$second}
} keys %before;
ok(@served_both > 0, 'a step worker executed steps of both runs, one process from before the second run to after it')
  or diag(explain({ before => \%before, after => \%after, runs_of => \%runs_of }));
sim(POST => '/latency', { ms => 0 });
$node->stop;

crash_overlapping('erpnext', pooled => 1, stop => 'immediate');
crash_overlapping('erpnext', pooled => 1, stop => 'terminate');
done_testing();
