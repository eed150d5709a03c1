# A crash while an engine is paused (spec section 11): the pause it asked for lives in shared
# memory, so the restarted server forgets it; the interrupted runs resume, the engine refuses
# again and pauses them again, and every run completes with no step failed and one company
# per tenant in the engine. For each engine kind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;

my $node = PostgreSQL::Test::Cluster->new('crash_paused');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_retry_delay_ms = 20
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');

my %engines = (
	erpnext => { place => 'paused.localhost', scope => 'site', name => 'paused',
		url => 'http://paused.localhost:' . sim_port(), call => \&sim },
	odoo => { place => 'paused_odoo', scope => 'db', name => 'paused_odoo',
		url => 'http://127.0.0.1:' . odoo_sim_port(), call => \&odoo_sim });

for my $kind (sort keys %engines)
{
	my $e = $engines{$kind};
	my $call = $e->{call};
	my $capacity = sub { $call->(GET => "/capacity?$e->{scope}=$e->{place}") };
	$call->(POST => '/reset', { $e->{scope} => $e->{place} });
	# a burst, then refusals asking for a pause longer than the test waits for one
	$call->(POST => '/limits', { $e->{scope} => $e->{place}, requests_per_second => 2, burst => 4,
		retry_after => 60 });
	my ($key, $options) = $kind eq 'odoo' ? ('admin', qq{{"database": "$e->{place}"}}) : ('simkey', '{}');
	$node->safe_psql('postgres', qq{
		INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret, options)
		VALUES ('$e->{name}', '$kind', '$e->{url}', '$key', 'simsecret', '$options');
		INSERT INTO provisioning.tenants (name, engine, settings)
		SELECT 'Paused ' || i, '$e->{name}', '{"provisioning_type": "BASIC"}' FROM generate_series(1, 2) i;});
	ok(wait_until("$kind: the engine to refuse a request", 30, sub { $capacity->()->{refused} > 0 }),
		"$kind: the engine refused and asked for a pause");
	my $refused = $capacity->()->{refused};
	is($node->safe_psql('postgres', "SELECT count(*) FROM provisioning.tenant_onboarding WHERE status = 'IN_PROGRESS'"),
		'2', "$kind: both runs are in progress, paused");

	$node->stop('immediate');
	# the engine's pause is shorter now: the resumed runs meet it and wait it out
	$call->(POST => '/limits', { $e->{scope} => $e->{place}, requests_per_second => 2, burst => 4,
		retry_after => 1 });
	$node->start;

	ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM provisioning.tenant_onboarding WHERE status IN ('PENDING', 'IN_PROGRESS')"),
		"$kind: the runs end after the restart");
	is($node->safe_psql('postgres', "SELECT string_agg(DISTINCT status, ',') FROM provisioning.tenant_onboarding"),
		'COMPLETED', "$kind: every run completed");
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM provisioning.tenant_onboarding o, jsonb_array_elements(o.provisioning_steps) s
		 WHERE s->>'status' = 'failed'}), '0', "$kind: no step failed");
	cmp_ok($capacity->()->{refused}, '>', $refused, "$kind: the restarted server met the engine's refusals again");
	ok(engine_settled($e->{place}, $kind), "$kind: the engine answered every request it received");
	my $summary = $call->(GET => "/summary?$e->{scope}=$e->{place}");
	is($summary->{ $kind eq 'odoo' ? 'res.company' : 'Company' }, 2, "$kind: one company per tenant, none twice");
	$call->(POST => '/limits', { $e->{scope} => $e->{place} });
	$node->safe_psql('postgres', 'DELETE FROM provisioning.tenants; DELETE FROM provisioning.engines');
}
$node->stop;
done_testing();
