# A step boundary's commit does not wait for its WAL flush (issue 12): the run worker flushes
# it once its next engine request went out, so the disk and the engine work at once. While
# the engine works on that request, the boundary must be on disk: the WAL is flushed past
# every change to the run's pages. The WAL writer is slowed to its 10 s maximum and
# autovacuum is off, so only the worker's own flush can have written it. One step at a
# time: the boundaries are the run worker's (a step worker's commit waits for its flush).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;

my $sim_port = sim_port();
my $node = PostgreSQL::Test::Cluster->new('boundary_flush');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_timeout_ms = 8000
provisioning.max_parallel_steps = 1
wal_writer_delay = 10s
autovacuum = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION provisioning; CREATE EXTENSION pageinspect');

# pages read raw (get_raw_page prunes nothing, so reading them writes no WAL)
my $unflushed_pages = q{
	SELECT count(*) FILTER (WHERE h.lsn > pg_catalog.pg_current_wal_flush_lsn())
	  FROM unnest(ARRAY['provisioning.tenant_onboarding', 'provisioning.run_log', 'provisioning.tenants']) r(rel),
	       generate_series(0, pg_relation_size(r.rel) / 8192 - 1) b,
	       page_header(get_raw_page(r.rel, b::integer)) h};

# the customer step's first request (its lookup) is held 4 s by the engine
for my $site (qw(flush1 flush2))
{
	sim(POST => '/reset', { site => "$site.localhost" });
	sim(POST => '/faults', { site => "$site.localhost", method => 'GET', path => '^/api/resource/Customer',
		action => 'delay', delay_ms => 4000, times => 1 });
	$node->safe_psql('postgres', qq{
		INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
		VALUES ('$site', 'erpnext', 'http://$site.localhost:$sim_port', 'simkey', 'simsecret')});
}

# the first run: the worker starts; the second: a worker that was idle is handed it at commit
for my $site (qw(flush1 flush2))
{
	$node->safe_psql('postgres', "INSERT INTO provisioning.tenants (name, engine) VALUES ('Flush $site', '$site')");
	ok(wait_for_delayed_request("$site.localhost", qr{^/api/resource/Customer}),
		"$site: the engine works on the customer step's first request");
	is($node->safe_psql('postgres', $unflushed_pages), '0',
		"$site: meanwhile every page of the run's tables is on disk up to its last change (the WAL is flushed past it)");
	is($node->safe_psql('postgres', qq{
		SELECT string_agg(s->>'step' || '=' || (s->>'status'), ',' ORDER BY n)
		  FROM provisioning.tenants t JOIN provisioning.tenant_onboarding o ON o.tenant_id = t.id,
		       jsonb_array_elements(o.provisioning_steps) WITH ORDINALITY x(s, n)
		 WHERE t.engine = '$site' AND s->>'step' IN ('step_5_settings', 'step_7_customer')}),
		'step_5_settings=completed,step_7_customer=running',
		"$site: the boundary that started the customer step is the one committed");
	ok($node->poll_query_until('postgres',
		"SELECT provisioning_status = 'PROVISIONED' FROM provisioning.tenants WHERE engine = '$site'"),
		"$site: the run completes");
}

$node->stop;
done_testing();
