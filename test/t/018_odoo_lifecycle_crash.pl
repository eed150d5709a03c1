# Crash safety of the Odoo lifecycle steps: the server stopped in immediate mode (1) while the
# engine holds the suspend's closing of the POS session (close_session_from_ui, applied 4.5 s
# after it arrived, after the restart): the resumed run sends no second closing and completes;
# (2) in the middle of an offboarding's export, every request slowed down: the resumed export
# goes on where its pages stopped, and every record is exported exactly once, as many of each
# model as the engine counts. Polls with deadlines, no fixed sleeps.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;

my $node = PostgreSQL::Test::Cluster->new('odoo_lifecycle_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_connect_timeout_ms = 1000
provisioning.http_timeout_ms = 8000
provisioning.write_settle_ms = 6000
provisioning.http_retry_delay_ms = 20
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');
my $port = odoo_sim_port();

# A provisioned tenant on database $db of the simulated Odoo, with $sales sales in its session
sub provisioned
{
	my ($db, $company, $sales) = @_;
	odoo_sim(POST => '/reset', { db => $db });
	$node->safe_psql('postgres', qq{
		INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret, options)
		VALUES ('$db', 'odoo', 'http://127.0.0.1:$port', 'admin', 'simsecret', '{"database": "$db"}');
		INSERT INTO provisioning.tenants (name, engine, settings) VALUES ('$company', '$db', '{"include_demo_data": true}')});
	ok($node->poll_query_until('postgres', "SELECT provisioning_status = 'PROVISIONED' FROM provisioning.tenants WHERE name = '$company'"),
		"$db: provisioned");
	odoo_sim(POST => '/pos-sales', { db => $db, company => $company, count => $sales });
	return $node->safe_psql('postgres', "SELECT id FROM provisioning.tenants WHERE name = '$company'");
}

# Waits for the tenant's latest run to end; its status
sub finished
{
	my ($tenant) = @_;
	$node->poll_query_until('postgres', qq{
		SELECT status NOT IN ('PENDING', 'IN_PROGRESS') FROM provisioning.tenant_onboarding
		 WHERE tenant_id = '$tenant' ORDER BY created_at DESC LIMIT 1});
	return $node->safe_psql('postgres', qq{
		SELECT status FROM provisioning.tenant_onboarding WHERE tenant_id = '$tenant' ORDER BY created_at DESC LIMIT 1});
}

sub calls
{
	my ($db, $method) = @_;
	return scalar grep { ($_->{model_method} // '') eq $method } @{ odoo_sim(GET => "/requests?db=$db") };
}

# (1) A crash while the engine holds the closing
my $tenant = provisioned('crash_close', 'Crash Close', 5);
odoo_sim(POST => '/faults', { db => 'crash_close', method => 'object.execute_kw pos.session close_session_from_ui',
	action => 'delay', delay_ms => 4500, times => 1 });
$node->safe_psql('postgres', "SELECT provisioning.provision_suspend('$tenant', 'crash test')");
ok(wait_for_delayed_request('crash_close', qr/close_session_from_ui/, 'odoo'), 'the engine holds the closing');
$node->stop('immediate');
$node->start;
is(finished($tenant), 'COMPLETED', 'the resumed suspend completes');
is($node->safe_psql('postgres', "SELECT provisioning_status FROM provisioning.tenants WHERE id = '$tenant'"),
	'SUSPENDED', 'the tenant is suspended');
ok(engine_settled('crash_close', 'odoo'), 'the engine answered every request');
is(calls('crash_close', 'close_session_from_ui'), 1, 'one closing: none sent again while the first could still apply');
my $sessions = odoo_sim(GET => '/records?db=crash_close&model=pos.session');
is(join(',', map { $_->{state} } @$sessions), 'closed', 'the session is closed');
odoo_sim(DELETE => '/faults');

# (2) A crash in the middle of the export
$tenant = provisioned('crash_export', 'Crash Export', 250);
odoo_sim(POST => '/latency', { ms => 150 });
$node->safe_psql('postgres', "SELECT provisioning.provision_offboard('$tenant', 'crash test')");
ok($node->poll_query_until('postgres', "SELECT count(*) >= 100 FROM provisioning.tenant_exports WHERE tenant_id = '$tenant' AND kind = 'pos.order'"),
	'the export has written a page of orders');
my $before = $node->safe_psql('postgres', "SELECT count(*) FROM provisioning.tenant_exports WHERE tenant_id = '$tenant' AND kind = 'pos.order'");
$node->stop('immediate');
cmp_ok($before, '<', 250, "the crash came in the middle of the orders' pages ($before exported)");
$node->start;
odoo_sim(POST => '/latency', { ms => 0 });
is(finished($tenant), 'COMPLETED', 'the resumed offboarding completes');
is($node->safe_psql('postgres', "SELECT provisioning_status FROM provisioning.tenants WHERE id = '$tenant'"),
	'OFFBOARDED', 'the tenant is offboarded');
ok(engine_settled('crash_export', 'odoo'), 'the engine answered every request');
is($node->safe_psql('postgres', qq{
	SELECT count(*) - count(DISTINCT (kind, key)) FROM provisioning.tenant_exports WHERE tenant_id = '$tenant'}),
	'0', 'no record exported twice');
my $cid = $node->safe_psql('postgres', qq{
	SELECT provisioning_metadata->>'company_id' FROM provisioning.tenant_onboarding WHERE tenant_id = '$tenant'
	 ORDER BY created_at DESC LIMIT 1});
for my $model (qw(pos.order pos.order.line pos.payment))
{
	my $engine = grep { ($_->{company_id} // 0) == $cid } @{ odoo_sim(GET => "/records?db=crash_export&model=$model") };
	is($node->safe_psql('postgres', "SELECT count(*) FROM provisioning.tenant_exports WHERE tenant_id = '$tenant' AND kind = '$model'"),
		$engine, "$model: every one exported, none missing ($engine)");
}
is($node->safe_psql('postgres', "SELECT count(*) FROM provisioning.tenant_exports WHERE tenant_id = '$tenant' AND kind = 'pos.order'"),
	'250', 'the 250 orders');
$node->stop;
done_testing();
