# Crash safety (spec section 8), for one engine kind: the server is stopped in immediate
# mode in the middle of each step in turn, while the engine holds a creating request of
# that step; the run resumes after the restart, finishes COMPLETED, and the engine holds
# exactly one of everything. The engine applies the interrupted request 4.5 s after it
# arrived, after the server is back: a resumed run creates nothing it does not find until
# write_settle_ms (6 s) has passed since it resumed; one that created at once would make
# the customer twice. Also: a killed run worker, and a fast shutdown with runs in flight.
# test/t/001_crash_resume.pl runs it for ERPNext, 009_crash_resume_odoo.pl for Odoo.
package CrashResume;
use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(crash_resume crash_overlapping crash_cluster crash_tenants);

# What differs between the engines: how a tenant's engine is made and reset, a fault on
# one request, what the engine must hold, and the request of each step that is in the
# engine when the server stops.
my %kinds = (
	erpnext => {
		place => sub { "$_[0].localhost" },
		reset => sub { sim(POST => '/reset', { site => "$_[0].localhost" }) },
		engine => sub {
			my ($name) = @_;
			my $port = sim_port();
			return "INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
				VALUES ('$name', 'erpnext', 'http://$name.localhost:$port', 'simkey', 'simsecret')";
		},
		delay => sub {
			my ($name, $request, $ms) = @_;
			my ($method, $path, $doctype) = @$request;
			sim(POST => '/faults', { site => "$name.localhost", method => $method, path => $path,
				$doctype ? (doctype => $doctype) : (), action => 'delay', delay_ms => $ms, times => 1 });
		},
		summary => sub { sim(GET => "/summary?site=$_[0].localhost") },
		clear => sub { sim(DELETE => '/faults') },
		expected => { 'Fiscal Year' => 1, 'Company' => 1, 'Warehouse' => 7, 'Customer' => 1,
			'POS Profile' => 1, 'POS Opening Entry' => 1, 'Item' => 3 },
		crash_points => [
			[ 'step_0_engine_check',      [ 'GET',  'get_logged_user' ] ],
			[ 'step_1_fiscal_year',       [ 'POST', '^/api/resource/Fiscal Year' ] ],
			[ 'step_2_company',           [ 'POST', '^/api/resource/Company' ] ],
			[ 'step_3_chart_of_accounts', [ 'GET',  'get_count' ] ],
			[ 'step_4_warehouses',        [ 'POST', 'insert_many', 'Warehouse' ] ],
			[ 'step_5_settings',          [ 'PUT',  '^/api/resource/Stock Settings' ] ],
			[ 'step_6_items',             [ 'POST', 'insert_many', 'Item' ] ],
			[ 'step_7_customer',          [ 'POST', '^/api/resource/Customer' ] ],
			[ 'step_8_pos_profile',       [ 'POST', '^/api/resource/POS Profile' ] ],
			[ 'step_9_pos_session',       [ 'POST', '^/api/resource/POS Opening Entry' ] ] ],
		customer => [ 'POST', '^/api/resource/Customer' ],
		company => [ 'POST', '^/api/resource/Company' ],
		# creates of two steps that run at once (fiscal year and customer, after step 0):
		# [ fault target, what the request log says, documents it makes ]
		overlapping => [ [ [ 'POST', '^/api/resource/Fiscal Year' ], qr{^/api/resource/Fiscal%20Year$}, 1 ],
			[ [ 'POST', '^/api/resource/Customer' ], qr{^/api/resource/Customer$}, 1 ] ],
		creates => sub { my ($r, $call) = @_; ($r->{method} // '') eq 'POST' && ($r->{path} // '') =~ $call },
	},
	odoo => {
		place => sub { $_[0] },
		reset => sub { odoo_sim(POST => '/reset', { db => $_[0] }) },
		engine => sub {
			my ($name) = @_;
			my $port = odoo_sim_port();
			return "INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret, options)
				VALUES ('$name', 'odoo', 'http://127.0.0.1:$port', 'admin', 'simsecret', '{\"database\": \"$name\"}')";
		},
		delay => sub {
			my ($name, $call, $ms) = @_;
			odoo_sim(POST => '/faults', { db => $name, method => $call, action => 'delay', delay_ms => $ms, times => 1 });
		},
		summary => sub { odoo_sim(GET => "/summary?db=$_[0]") },
		clear => sub { odoo_sim(DELETE => '/faults') },
		expected => { 'res.company' => 1, 'stock.warehouse' => 3, 'res.partner Walk-In Customer' => 1,
			'pos.config' => 1, 'pos.session' => 1, 'pos.session opened' => 1, 'product.template' => 3 },
		# step_1_fiscal_year is skipped: Odoo Community has no fiscal-year document
		crash_points => [
			[ 'step_0_engine_check',      'common.authenticate' ],
			[ 'step_2_company',           'object.execute_kw res.company create' ],
			[ 'step_3_chart_of_accounts', 'object.execute_kw account.chart.template try_loading' ],
			[ 'step_4_warehouses',        'object.execute_kw stock.warehouse create' ],
			[ 'step_5_settings',          'object.execute_kw res.company search_read' ],
			[ 'step_6_items',             'object.execute_kw product.template create' ],
			[ 'step_7_customer',          'object.execute_kw res.partner create' ],
			[ 'step_8_pos_profile',       'object.execute_kw pos.config write' ],
			[ 'step_9_pos_session',       'object.execute_kw pos.config open_ui' ] ],
		customer => 'object.execute_kw res.partner create',
		company => 'object.execute_kw res.company create',
		# warehouses (Main Store and POS Store) and customer, both after the company
		overlapping => [ [ 'object.execute_kw stock.warehouse create', qr/^object\.execute_kw stock\.warehouse create$/, 1 ],
			[ 'object.execute_kw res.partner create', qr/^object\.execute_kw res\.partner create$/, 1 ] ],
		creates => sub { my ($r, $call) = @_; ($r->{rpc} // '') =~ $call },
	});

# The test-only kind (src/engines/sample/) speaks the simulated ERPNext's API on a site of its
# own, as ERPNext's entry says; it exists only with provisioning.test_engine_kinds.
$kinds{sample} = {
	%{ $kinds{erpnext} },
	sim => 'erpnext',
	conf => 'provisioning.test_engine_kinds = on',
	engine => sub {
		my ($name) = @_;
		my $port = sim_port();
		return "INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
			VALUES ('$name', 'sample', 'http://$name.localhost:$port', 'simkey', 'simsecret')";
	},
	# the company's 5 default warehouses and Sample Store
	expected => { 'Company' => 1, 'Warehouse' => 6, 'Customer' => 1, 'POS Profile' => 0 },
	crash_points => [
		[ 'step_0_engine_check', [ 'GET',  'get_logged_user' ] ],
		[ 'step_2_company',      [ 'POST', '^/api/resource/Company' ] ],
		[ 'step_4_warehouses',   [ 'POST', '^/api/resource/Warehouse' ] ],
		[ 'step_7_customer',     [ 'POST', '^/api/resource/Customer' ] ] ],
	overlapping => undef };

# A node for crash tests: the extension preloaded, short timeouts and write_settle_ms
# 6000, then the conf lines given (a later line of postgresql.conf wins); started, with the
# extension made.
sub crash_cluster
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_connect_timeout_ms = 1000
provisioning.http_timeout_ms = 6000
provisioning.write_settle_ms = 6000
provisioning.http_retry_delay_ms = 20
max_worker_processes = 16
@{[ join("\n", @conf) ]}
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION provisioning');
	return $node;
}

# Two helpers for engine kind $kind on $node: new_tenant(ENGINE, TENANT) makes an engine
# and a tenant with demo items; check_finished(ENGINE, TENANT, WHAT) waits for its run to
# end and checks that it completed with exactly one of everything.
sub crash_tenants
{
	my ($node, $kind) = @_;
	my $k = $kinds{$kind};
	my $new_tenant = sub {
		my ($name, $tenant) = @_;
		$node->safe_psql('postgres', $k->{engine}->($name) . ";
			INSERT INTO provisioning.tenants (name, engine, settings)
			VALUES ('$tenant', '$name', '{\"include_demo_data\": true}')");
	};
	my $check_finished = sub {
		my ($name, $tenant, $what) = @_;
		ok($node->poll_query_until('postgres',
			"SELECT provisioning_status <> 'PROVISIONING' FROM provisioning.tenants WHERE name = '$tenant'"),
			"$what: the run ends");
		is($node->safe_psql('postgres', "SELECT provisioning_status FROM provisioning.tenants WHERE name = '$tenant'"),
			'PROVISIONED', "$what: the tenant is provisioned");
		ok(engine_settled($k->{place}->($name), $k->{sim} // $kind), "$what: the engine answered every request it received");
		my $summary = $k->{summary}->($name);
		is_deeply({ map { $_ => $summary->{$_} } keys %{ $k->{expected} } }, $k->{expected},
			"$what: the engine holds exactly one of everything");
	};
	return ($new_tenant, $check_finished);
}

# A node for crash tests of engine kind $kind (with the kind's conf lines) and its helpers
sub crash_node
{
	my ($kind, $name) = @_;
	my $node = crash_cluster($name, $kinds{$kind}{conf} // ());
	return ($node, crash_tenants($node, $kind));
}

sub crash_resume
{
	my ($kind) = @_;
	my $k = $kinds{$kind};
	my $tag = $kind eq 'erpnext' ? '' : "_$kind";

	my ($node, $new_tenant, $check_finished) = crash_node($kind, "crash$tag");
	my $sim = $k->{sim} // $kind;    # the simulated engine's kind

	my @crash_points = @{ $k->{crash_points} };
	for my $i (0 .. $#crash_points)
	{
		my ($step, $request) = @{ $crash_points[$i] };
		my $name = "crash$i$tag";
		$k->{reset}->($name);
		$k->{delay}->($name, $request, 4500);
		$new_tenant->($name, "Crash $i");
		ok(wait_for_delayed_request($k->{place}->($name), undef, $sim),
			"$kind $step: the engine is working on its request");
		$node->stop('immediate');
		$node->start;
		$check_finished->($name, "Crash $i", "$kind: crash in $step");
	}

	# A run worker killed in the middle of a step: the launcher starts it again.
	$k->{reset}->("killed$tag");
	$k->{delay}->("killed$tag", $k->{customer}, 1500);
	$new_tenant->("killed$tag", 'Killed');
	ok(wait_for_delayed_request($k->{place}->("killed$tag"), undef, $sim),
		"$kind killed worker: the engine is working on its request");
	is($node->safe_psql('postgres',
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'provisioning run' AND state = 'active'"),
		'1', "$kind: the run worker is terminated");
	$check_finished->("killed$tag", 'Killed', "$kind: terminated worker");

	# A fast shutdown with a request in flight does not wait for the engine.
	$k->{reset}->("shutdown$tag");
	$k->{delay}->("shutdown$tag", $k->{company}, 20000);
	$new_tenant->("shutdown$tag", 'Shutdown');
	ok(wait_for_delayed_request($k->{place}->("shutdown$tag"), undef, $sim),
		"$kind fast shutdown: the engine is working on a slow request");
	my $start = time();
	$node->stop('fast');
	cmp_ok(time() - $start, '<', 10, "$kind: a fast shutdown does not wait for the engine");
	$node->start;
	$check_finished->("shutdown$tag", 'Shutdown', "$kind: after the fast shutdown");

	$k->{clear}->();
	$node->stop;
}

# A crash while two steps of one run are in flight: each holds a create in the engine
# (delay faults, applied 4.5 s after they arrived, after the restart), the server stops in
# immediate mode, and the resumed run re-runs both steps left running, each waiting for its
# own unanswered create instead of sending it again: the run completes, the engine holds
# exactly one of everything, and each of the two creates was sent once per document.
# Options: pooled => 1 runs a run first, so that the steps go to step workers that stayed
# from it (step_pool.c), which it checks; stop => 'terminate' terminates the run worker
# instead of stopping the server (its step workers stop with it, a new run worker resumes).
sub crash_overlapping
{
	my ($kind, %opt) = @_;
	my $k = $kinds{$kind};
	my $stop = $opt{stop} // 'immediate';
	my $tag = ($kind eq 'erpnext' ? '' : "_$kind") . ($opt{pooled} ? "pooled$stop" : '');
	my ($node, $new_tenant, $check_finished) = crash_node($kind, "overlap$tag");
	my $name = "overlap$tag";
	my $place = $k->{place}->($name);
	my $what = "$kind" . ($opt{pooled} ? ", pooled step workers, $stop" : '');

	my $latency = sub { ($kind eq 'odoo' ? \&odoo_sim : \&sim)->(POST => '/latency', { ms => $_[0] }) };

	# steps run at once only with an engine slow enough for a step worker to pay
	$latency->(10);
	my $idle_steps = "SELECT string_agg(pid || ':' || backend_start, ',') FROM pg_stat_activity
		 WHERE backend_type = 'provisioning step' AND query = 'waiting for a provisioning step'";
	my $pool = '';
	if ($opt{pooled})
	{
		$k->{reset}->("warm$tag");
		$new_tenant->("warm$tag", 'Warm');
		$check_finished->("warm$tag", 'Warm', "$what: the run before");
		$pool = $node->safe_psql('postgres', $idle_steps);
		isnt($pool, '', "$what: step workers stay idle after the run before");
	}
	$k->{reset}->($name);
	$k->{delay}->($name, $_->[0], 4500) for @{ $k->{overlapping} };
	$new_tenant->($name, 'Overlap');
	for my $request (@{ $k->{overlapping} })
	{
		ok(wait_for_delayed_request($place, $request->[1], $kind),
			"$what: the engine is working on the create $request->[1]");
	}
	is($node->safe_psql('postgres', "SELECT count(*) FROM jsonb_array_elements(
			(SELECT provisioning_steps FROM provisioning.tenant_onboarding o
			   JOIN provisioning.tenants t ON t.id = o.tenant_id WHERE t.name = 'Overlap')) s
		 WHERE s->>'status' = 'running'") >= 2 ? 1 : 0, 1, "$what: two steps are running at the crash");
	if ($opt{pooled})
	{
		is($node->safe_psql('postgres', "SELECT count(*) > 0 FROM pg_stat_activity
			 WHERE backend_type = 'provisioning step' AND query <> 'waiting for a provisioning step'
			   AND pid || ':' || backend_start = ANY (string_to_array('$pool', ','))"), 't',
			"$what: a step is executed by a step worker that stayed from the run before");
	}
	if ($stop eq 'terminate')
	{
		my $busy = $node->safe_psql('postgres', "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
			 WHERE backend_type = 'provisioning step' AND query <> 'waiting for a provisioning step'");
		is($node->safe_psql('postgres', "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			 WHERE backend_type = 'provisioning run' AND state = 'active'"), '1', "$what: the run worker is terminated");
		ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity
			 WHERE pid = ANY (string_to_array('$busy', ',')::int[])"),
			"$what: the step workers that executed its steps stop too");
	}
	else
	{
		$node->stop('immediate');
		$node->start;
	}
	$check_finished->($name, 'Overlap', "$what: crash while two steps ran at once");
	my @requests = SimEngine::requests_of($kind, $place);
	for my $request (@{ $k->{overlapping} })
	{
		is(scalar(grep { $k->{creates}->($_, $request->[1]) } @requests), $request->[2],
			"$what: the create $request->[1] was sent once per document ($request->[2])");
	}
	is($node->safe_psql('postgres', "SELECT count(*) FROM provisioning.run_log l
			JOIN provisioning.tenants t ON t.id = l.tenant_id
		 WHERE t.name = 'Overlap' AND l.message = 'run resumed'"), '1', "$what: the run resumed once");
	$k->{clear}->();
	$latency->(0);
	$node->stop;
}

1;
