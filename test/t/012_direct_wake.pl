# Start at once (issue 12): a transaction that queues a run hands it, at commit, to an idle
# run worker directly, without the launcher's hop. With the launcher frozen (SIGSTOP), a
# tenant inserted while a worker idles is provisioned all the same.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;
use Time::HiRes qw(time sleep);

my $sim_port = sim_port();
my $node = PostgreSQL::Test::Cluster->new('direct_wake');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_timeout_ms = 3000
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');
for my $site (qw(wake1 wake2 wake3))
{
	sim(POST => '/reset', { site => "$site.localhost" });
	$node->safe_psql('postgres', qq{
		INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
		VALUES ('$site', 'erpnext', 'http://$site.localhost:$sim_port', 'simkey', 'simsecret')});
}

sub provisioned
{
	my ($engine) = @_;
	return $node->safe_psql('postgres',
		"SELECT provisioning_status FROM provisioning.tenants WHERE engine = '$engine'") eq 'PROVISIONED';
}

sub wait_provisioned
{
	my ($engine) = @_;
	return $node->poll_query_until('postgres',
		"SELECT provisioning_status = 'PROVISIONED' FROM provisioning.tenants WHERE engine = '$engine'");
}

# A first run leaves its worker idle (it waits 10 s for more work before it exits).
$node->safe_psql('postgres', "INSERT INTO provisioning.tenants (name, engine) VALUES ('Wake One', 'wake1')");
ok(wait_provisioned('wake1'), 'a first tenant is provisioned');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'provisioning run' AND state = 'idle'"),
	'its worker idles');

my $launcher = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'provisioning launcher'");
ok($launcher =~ /^\d+$/, 'the launcher runs');
# a frozen launcher would hold up the server's shutdown: thaw it however the test ends
END { kill 'CONT', $launcher if $launcher && $launcher =~ /^\d+$/; }
kill 'STOP', $launcher;

# handed to the idle worker at commit: provisioned while the launcher cannot act. The
# deadline is well under the 10 s an idle worker waits before it looks for work again by
# itself, so only the hand-off meets it.
$node->safe_psql('postgres', "INSERT INTO provisioning.tenants (name, engine) VALUES ('Wake Two', 'wake2')");
my $deadline = time() + 5;
sleep 0.05 until provisioned('wake2') || time() > $deadline;
ok(provisioned('wake2'), 'with the launcher frozen, a tenant inserted while a worker idles is provisioned within 5 s');

kill 'CONT', $launcher;
$node->safe_psql('postgres', "INSERT INTO provisioning.tenants (name, engine) VALUES ('Wake Three', 'wake3')");
ok(wait_provisioned('wake3'), 'with the launcher thawed, a third tenant is provisioned');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM provisioning.tenant_onboarding WHERE status = 'COMPLETED'"), '3',
	'each tenant by one run');

$node->stop;
done_testing();
