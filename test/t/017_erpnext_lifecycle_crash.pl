# Crashes in ERPNext's lifecycle steps (spec section 12, with section 8's promises): the server
# is stopped in immediate mode while the engine holds a suspend's POS Closing Entry (applied
# after the restart), and again in the middle of an offboarding's export of 300 sales, its
# list pages made slow. After each restart the run resumes and completes: one closing entry,
# the session closed; every document exported exactly once, as many per kind as the engine
# counts, the export going on from the pages written before the crash.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;

my $site = 'life17.localhost';
my $company = 'Crash Life';

my $node = PostgreSQL::Test::Cluster->new('lifecycle_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_connect_timeout_ms = 1000
provisioning.http_timeout_ms = 6000
provisioning.write_settle_ms = 6000
provisioning.http_retry_delay_ms = 20
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');

sub query { return $node->safe_psql('postgres', $_[0]); }
sub enc { my ($s) = @_; $s =~ s/([^A-Za-z0-9\-_.~])/sprintf('%%%02X', ord($1))/seg; return $s; }
sub docs { return sim(GET => "/docs?site=$site&doctype=" . enc($_[0]))->{data}; }
sub company_count
{
	return sim(GET => "/count?site=$site&doctype=" . enc($_[0]) . '&filters=' . enc(qq{[["company","=","$company"]]}))->{count};
}

# Waits for the tenant's latest run to end; its status
sub run_end
{
	my ($what) = @_;
	ok($node->poll_query_until('postgres', q{
		SELECT status NOT IN ('PENDING', 'IN_PROGRESS') FROM provisioning.tenant_onboarding
		 ORDER BY created_at DESC LIMIT 1}), "$what: the run ends");
	return query('SELECT status FROM provisioning.tenant_onboarding ORDER BY created_at DESC LIMIT 1');
}

sim(POST => '/reset', { site => $site });
my $port = sim_port();
query(qq{INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
	VALUES ('life17', 'erpnext', 'http://$site:$port', 'simkey', 'simsecret');
	INSERT INTO provisioning.tenants (name, engine, settings)
	VALUES ('$company', 'life17', '{"include_demo_data": true}')});
is(run_end('provisioning'), 'COMPLETED', 'provisioned');
my $sales = sim(POST => '/pos-sales', { site => $site, company => $company, count => 300 });
is(scalar @{ $sales->{invoices} }, 300, '300 sales in the open session');
my $tenant = query('SELECT id FROM provisioning.tenants');

# A suspend whose closing entry the engine applies only after the restart
sim(POST => '/faults', { site => $site, method => 'POST', doctype => 'POS Closing Entry', action => 'delay',
	delay_ms => 4500, times => 1 });
query("SELECT provisioning.provision_suspend('$tenant', 'crash test')");
ok(wait_for_delayed_request($site, qr{POS%20Closing%20Entry}), 'suspend: the engine holds the closing entry');
$node->stop('immediate');
$node->start;
is(run_end('suspend after the crash'), 'COMPLETED', 'suspend: the resumed run completes');
is(query('SELECT provisioning_status FROM provisioning.tenants'), 'SUSPENDED', 'suspend: the tenant is SUSPENDED');
ok(engine_settled($site), 'suspend: the engine answered every request');
my @closings = @{ docs('POS Closing Entry') };
is(scalar @closings, 1, 'suspend: exactly one closing entry');
is(scalar @{ $closings[0]{pos_transactions} }, 300, 'suspend: it closes the 300 sales');
is(join(',', map { $_->{status} } @{ docs('POS Opening Entry') }), 'Closed', 'suspend: the session is closed');

# An offboarding whose export is stopped in the middle of the sales: each list page of POS
# Invoice waits 1.5 s, and the server stops once the first page of 100 is exported
sim(POST => '/faults', { site => $site, method => 'GET', path => '^/api/resource/POS Invoice\?', action => 'delay',
	delay_ms => 1500, times => -1 });
query("SELECT provisioning.provision_offboard('$tenant', 'crash test')");
my $exported_sales = q{SELECT count(*) FROM provisioning.tenant_exports WHERE kind = 'POS Invoice'};
ok($node->poll_query_until('postgres', "SELECT ($exported_sales) >= 100"), 'offboard: a page of sales is exported');
$node->stop('immediate');
$node->start;
my $at_crash = query($exported_sales);
ok($at_crash >= 100 && $at_crash < 300, "offboard: the crash came in the middle of the sales ($at_crash of 300 exported)");
is(run_end('offboard after the crash'), 'COMPLETED', 'offboard: the resumed run completes');
is(query('SELECT provisioning_status FROM provisioning.tenants'), 'OFFBOARDED', 'offboard: the tenant is OFFBOARDED');
sim(DELETE => '/faults');
ok(engine_settled($site), 'offboard: the engine answered every request');

my $run = query('SELECT id FROM provisioning.tenant_onboarding ORDER BY created_at DESC LIMIT 1');
my %exported = map { split /\|/ } split /\n/,
	query("SELECT kind, count(*) FROM provisioning.tenant_exports WHERE run_id = '$run' GROUP BY kind");
is_deeply({ map { $_ => $exported{$_} } 'POS Invoice', 'Sales Invoice', 'POS Closing Entry', 'POS Opening Entry',
		'Account', 'Warehouse' },
	{ map { $_ => company_count($_) } 'POS Invoice', 'Sales Invoice', 'POS Closing Entry', 'POS Opening Entry',
		'Account', 'Warehouse' },
	'offboard: each kind exported as many times as the engine counts it');
is($exported{'POS Invoice'}, 300, 'offboard: the 300 sales, once each');
is(query("SELECT count(*) - count(DISTINCT (kind, key)) FROM provisioning.tenant_exports WHERE run_id = '$run'"), '0',
	'offboard: no document exported twice');
is(query(qq{SELECT count(*) FROM provisioning.tenant_exports WHERE run_id = '$run' AND kind = 'POS Invoice'
	AND jsonb_array_length(document->'items') > 0 AND jsonb_array_length(document->'payments') = 1}), '300',
	'offboard: each sale whole, with its lines and payment');

$node->stop;
done_testing();
