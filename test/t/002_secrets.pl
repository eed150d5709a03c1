# Secrets never leak (spec section 6): an engine's api_key and api_secret hold sentinels;
# runs that succeed, runs the engine refuses (ERPNext: 401; Odoo: authenticate answering
# false) and runs against an offline engine, for both engines, and engine_health, all with
# the server logging at debug5 (Odoo's key travels in every request body). The sentinels must not appear in
# any status document, log row, tenant error, function answer, error message or NOTICE, nor
# anywhere in the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;

my $sim_port = sim_port();
my $odoo_port = odoo_sim_port();
my $key = 'KEY-SENTINEL-7f3a9c';
my $secret = 'SECRET-SENTINEL-4b8e1d';


my $node = PostgreSQL::Test::Cluster->new('secrets');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_connect_timeout_ms = 500
provisioning.http_timeout_ms = 2000
provisioning.http_retry_delay_ms = 10
});
$node->start;

# The engines are written before the log gets verbose: the INSERT is the user's own text.
sim(POST => '/reset', { site => 'vault.localhost' });
sim(POST => '/reset', { site => 'refused.localhost' });
sim(POST => '/sites/vault.localhost/credentials', { api_key => $key, api_secret => $secret });
odoo_sim(POST => '/reset', { db => 'odoo_vault', users => [ { login => $key, api_key => $secret } ] });
odoo_sim(POST => '/reset', { db => 'odoo_refused' });
$node->safe_psql('postgres', qq{
	CREATE EXTENSION provisioning;
	SET log_statement = 'none';
	SET provisioning.auto_start = off;
	INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret) VALUES
		('vault', 'erpnext', 'http://vault.localhost:$sim_port', '$key', '$secret'),
		('refused', 'erpnext', 'http://refused.localhost:$sim_port', '$key', '$secret'),
		('gone', 'erpnext', 'http://127.0.0.1:9', '$key', '$secret');
	INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret, options) VALUES
		('odoo_vault', 'odoo', 'http://127.0.0.1:$odoo_port', '$key', '$secret', '{"database": "odoo_vault"}'),
		('odoo_refused', 'odoo', 'http://127.0.0.1:$odoo_port', '$key', '$secret', '{"database": "odoo_refused"}'),
		('odoo_gone', 'odoo', 'http://127.0.0.1:9', '$key', '$secret', '{"database": "odoo_gone"}');
	INSERT INTO provisioning.tenants (id, name, engine) VALUES
		('00000000-0000-4000-8000-00000000a001', 'Vault', 'vault'),
		('00000000-0000-4000-8000-00000000a002', 'Refused', 'refused'),
		('00000000-0000-4000-8000-00000000a003', 'Gone', 'gone'),
		('00000000-0000-4000-8000-00000000a004', 'Odoo Vault', 'odoo_vault'),
		('00000000-0000-4000-8000-00000000a005', 'Odoo Refused', 'odoo_refused'),
		('00000000-0000-4000-8000-00000000a006', 'Odoo Gone', 'odoo_gone');});
$node->append_conf('postgresql.conf', "log_min_messages = debug5\n");
$node->reload;

my @answers;
for my $id (qw(a001 a002 a003 a004 a005 a006))
{
	push @answers, $node->safe_psql('postgres',
		"SELECT provisioning.provision_start('00000000-0000-4000-8000-00000000$id')");
}
ok($node->poll_query_until('postgres',
	"SELECT bool_and(provisioning_status <> 'PROVISIONING') FROM provisioning.tenants"), 'the runs end');
is($node->safe_psql('postgres', "SELECT string_agg(provisioning_status, ',' ORDER BY name) FROM provisioning.tenants"),
	'NOT_PROVISIONED,NOT_PROVISIONED,FAILED,PROVISIONED,FAILED,PROVISIONED',
	'offline, refused and provisioned, on either engine');

my ($rc, $out, $err) = $node->psql('postgres', q{
	SET client_min_messages = debug5;
	BEGIN;
	SELECT provisioning.provision_start('00000000-0000-4000-8000-00000000a002');
	SELECT provisioning.provision_start('00000000-0000-4000-8000-00000000a002');
	ROLLBACK;
	SELECT provisioning.provision_status(id), provisioning_error FROM provisioning.tenants;
	SELECT * FROM provisioning.provision_logs('00000000-0000-4000-8000-00000000a001');
	SELECT * FROM provisioning.provision_logs('00000000-0000-4000-8000-00000000a002');
	SELECT * FROM provisioning.provision_logs('00000000-0000-4000-8000-00000000a003');
	SELECT * FROM provisioning.provision_logs('00000000-0000-4000-8000-00000000a004');
	SELECT * FROM provisioning.provision_logs('00000000-0000-4000-8000-00000000a005');
	SELECT * FROM provisioning.provision_logs('00000000-0000-4000-8000-00000000a006');
	SELECT provisioning.engine_health(ARRAY(SELECT id FROM provisioning.tenants));
	SELECT provisioning.provision_retry('00000000-0000-4000-8000-00000000a001', 'no_such_step');
}, on_error_stop => 0);
push @answers, $out, $err;
like($err, qr/PT409|already queued|in progress/, 'the session saw an error and notices');
like(join("\n", @answers), qr/refused the API key/, 'the refusal is reported');
like(join("\n", @answers), qr/refused the login or API key/, 'Odoo\'s refusal is reported');

my $everything = join("\n", @answers);
unlike($everything, qr/\Q$secret\E/, 'no secret in answers, errors or notices');
unlike($everything, qr/\Q$key\E/, 'no API key in answers, errors or notices');

my $log = slurp_file($node->logfile);
cmp_ok(length($log), '>', 10000, 'the server log is verbose (debug5)');
unlike($log, qr/\Q$secret\E/, 'no secret in the server log');
unlike($log, qr/\Q$key\E/, 'no API key in the server log');
my $tables = $node->safe_psql('postgres',
	"SELECT string_agg(x::text, ' ') FROM (SELECT row_to_json(o)::text AS x FROM provisioning.tenant_onboarding o
	  UNION ALL SELECT row_to_json(l)::text FROM provisioning.run_log l
	  UNION ALL SELECT row_to_json(t)::text FROM provisioning.tenants t) s");
unlike($tables, qr/\Q$secret\E|\Q$key\E/, 'no secret in runs, logs or tenants');

$node->stop;
done_testing();
