# Crash safety of the lifecycle operations (spec sections 8 and 12), for one engine kind: a
# provisioned tenant with a few sales goes round suspend -> resume -> suspend -> offboard ->
# resume, and every run is interrupted in each of its steps in turn: while the engine holds
# a request of the step (a "delay" fault: its write, or for a step that only reads, as
# offboard_1 and offboard_2 of a suspended tenant and the export, a read), the server is
# stopped in immediate mode and started again. The held request is applied HOLD_MS after it
# arrived, after the restart: a resumed step that made its closing or its session again
# before it could see the first one would make two; a step that meets the held request
# applied while it runs (Odoo's archive of the company) must still complete. After each run: COMPLETED, resumed
# once per step, the tenant's status; one closing per suspend (and the closing request sent
# once), one new session per resume (its request sent once), nothing else the engine holds
# changed in number; the offboarding's export has every document once, as many of each
# kind as the engine counts. test/t/019_lifecycle_crash_each_step.pl runs it for ERPNext and
# Odoo on one cluster.
package LifecycleCrash;
use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SimEngine;
use CrashResume;

our @EXPORT = qw(lifecycle_cluster lifecycle_crash_each_step);

# How long the engine holds the request a crash interrupts; the resumed run's creates wait
# write_settle_ms (SETTLE_MS) from the restart: longer, so that the held create is found
# before the resumed step may send it again
use constant HOLD_MS => 2500;
use constant SETTLE_MS => 4000;

# The round trip: each operation, what it is called with, the tenant's status after it, its
# steps in order
my @round_trip = (
	[ 'suspend', "'crash test'", 'SUSPENDED', [qw(suspend_1_close_session suspend_2_disable_pos)] ],
	[ 'resume', undef, 'PROVISIONED', [qw(resume_1_enable_pos resume_2_open_session)] ],
	[ 'suspend', "'crash test'", 'SUSPENDED', [qw(suspend_1_close_session suspend_2_disable_pos)] ],
	[ 'offboard', "'crash test'", 'OFFBOARDED',
		[qw(offboard_1_close_session offboard_2_disable_pos offboard_3_export offboard_4_archive)] ],
	[ 'resume', undef, 'PROVISIONED', [qw(resume_1_enable_pos resume_2_open_session)] ]);

sub uri { my ($s) = @_; $s =~ s/([^A-Za-z0-9\-_.~])/sprintf('%%%02X', ord($1))/seg; return $s; }

# What differs between the engines: the fault rules that hold a request of each step (added
# before the step runs: those of a later step once the server is stopped in the one before,
# so that the interrupted step's first execution cannot meet them; an after_crash rule once
# the server is stopped in its own step, for a request only the resumed step sends), POS
# sales, and the engine's state as the checks compare it.
my %kinds = (
	erpnext => {
		place => sub { "$_[0].localhost" },
		hold => sub {
			my ($name, $rule) = @_;
			my %rule = %$rule;
			delete $rule{after_crash};
			sim(POST => '/faults', { site => "$name.localhost", action => 'delay', delay_ms => HOLD_MS, times => 1, %rule });
		},
		call => sub { "$_[0]{method} $_[0]{path}" },
		holds => {
			suspend_1_close_session => [ { method => 'POST', path => '^/api/resource/POS Closing Entry$' } ],
			suspend_2_disable_pos => [ { method => 'PUT', path => '^/api/resource/POS Profile/' } ],
			# after an offboarding the warehouses come first
			resume_1_enable_pos => [ { method => 'PUT', path => '^/api/resource/(Warehouse|POS Profile)/' } ],
			resume_2_open_session => [ { method => 'POST', path => '^/api/resource/POS Opening Entry$' } ],
			# a suspended tenant: the lookup of the open session, the read of the disabled profile
			offboard_1_close_session => [ { method => 'GET', path => '^/api/resource/POS Opening Entry\?' } ],
			offboard_2_disable_pos => [ { method => 'GET', path => '^/api/resource/POS Profile/' } ],
			# the sales' list, once the company's accounts, warehouses and sessions are exported
			offboard_3_export => [ { method => 'GET', path => '^/api/resource/POS Invoice\?' } ],
			offboard_4_archive => [ { method => 'PUT', path => '^/api/resource/Warehouse/' } ] },
		sales => sub {
			my ($name, $company, $n) = @_;
			return scalar @{ sim(POST => '/pos-sales', { site => "$name.localhost", company => $company, count => $n })->{invoices} };
		},
		state => sub {
			my ($name, $company) = @_;
			my $site = "$name.localhost";
			my $docs = sub { [ grep { ($_->{company} // '') eq $company }
				@{ sim(GET => "/docs?site=$site&doctype=" . uri($_[0]))->{data} } ] };
			my $openings = $docs->('POS Opening Entry');
			my $profiles = $docs->('POS Profile');
			my $warehouses = $docs->('Warehouse');
			my @requests = SimEngine::requests_of('erpnext', $site);
			my $summary = sim(GET => "/summary?site=$site");
			delete @$summary{ 'POS Opening Entry', 'Stock Settings', 'Selling Settings' };
			return {
				sessions => scalar @$openings,
				open => scalar(grep { $_->{status} eq 'Open' } @$openings),
				closed => scalar(grep { $_->{status} eq 'Closed' } @$openings),
				closings => scalar(grep { $_->{docstatus} == 1 } @{ $docs->('POS Closing Entry') }),
				closing_requests => scalar(grep { $_->{method} eq 'POST' && $_->{path} =~ m{^/api/resource/POS%20Closing%20Entry$} } @requests),
				opening_requests => scalar(grep { $_->{method} eq 'POST' && $_->{path} =~ m{^/api/resource/POS%20Opening%20Entry$} } @requests),
				pos_active => scalar(grep { !$_->{disabled} } @$profiles) . ' of ' . scalar(@$profiles),
				warehouses_active => scalar(grep { !$_->{disabled} } @$warehouses) . ' of ' . scalar(@$warehouses),
				summary => $summary };
		},
		# the engine's count of each kind the export holds documents of the company of
		exported_kinds => sub {
			my ($name, $company) = @_;
			my $filters = uri(qq{[["company","=","$company"]]});
			return { (map { $_ => sim(GET => "/count?site=$name.localhost&doctype=" . uri($_) . "&filters=$filters")->{count} }
					'Account', 'Warehouse', 'POS Profile', 'POS Opening Entry', 'POS Closing Entry', 'POS Invoice', 'Sales Invoice'),
				'Company' => 1, 'Fiscal Year' => 1, 'Customer' => 1, 'Item' => 3 };
		},
		sales_kind => 'POS Invoice',
		# a resume enables every warehouse the offboarding disabled (it recorded them)
		resumed_warehouses => sub { $_[0] },
	},
	odoo => {
		place => sub { $_[0] },
		hold => sub {
			my ($name, $rule) = @_;
			my %rule = %$rule;
			delete $rule{after_crash};
			odoo_sim(POST => '/faults', { db => $name, action => 'delay', delay_ms => HOLD_MS, times => 1, %rule });
		},
		call => sub { $_[0]{rpc} },
		holds => {
			suspend_1_close_session => [ { method => 'object.execute_kw pos.session close_session_from_ui' } ],
			suspend_2_disable_pos => [ { method => 'object.execute_kw pos.config write' } ],
			# the first write: the config after a suspend, the company after an offboarding
			resume_1_enable_pos => [ { method => 'object.execute_kw', pattern => ' write$' } ],
			resume_2_open_session => [ { method => 'object.execute_kw pos.config', pattern => ' (open_ui|open_session_cb)$' } ],
			# a suspended tenant: the search for sessions not closed, the read of the archived config
			offboard_1_close_session => [ { method => 'object.execute_kw pos.session search_read' } ],
			# the resumed offboard_1 reads the config first (let through), then offboard_2 does
			offboard_2_disable_pos => [ { method => 'object.execute_kw pos.config search_read', delay_ms => 0 },
				{ method => 'object.execute_kw pos.config search_read' } ],
			# the orders, once the company, its accounts, ..., its sessions are exported
			offboard_3_export => [ { method => 'object.execute_kw pos.order search_read' } ],
			# the company's archive, the last write; it lands while the resumed step runs, once
			# that step read the company still active (its check of the company's users held)
			offboard_4_archive => [ { method => 'object.execute_kw res.company write' },
				{ method => 'object.execute_kw res.users search_read', after_crash => 1 } ] },
		sales => sub {
			my ($name, $company, $n) = @_;
			return scalar @{ odoo_sim(POST => '/pos-sales', { db => $name, company => $company, count => $n })->{order_ids} };
		},
		state => sub {
			my ($name, $company) = @_;
			my $records = sub { odoo_sim(GET => "/records?db=$name&model=$_[0]") };
			my ($cid) = map { $_->{id} } grep { $_->{name} eq $company } @{ $records->('res.company') };
			my $configs = [ grep { ($_->{company_id} // 0) == $cid } @{ $records->('pos.config') } ];
			my %config = map { $_->{id} => 1 } @$configs;
			my $sessions = [ grep { $config{ $_->{config_id} // 0 } } @{ $records->('pos.session') } ];
			my $warehouses = [ grep { ($_->{company_id} // 0) == $cid } @{ $records->('stock.warehouse') } ];
			my @requests = SimEngine::requests_of('odoo', $name);
			my $summary = odoo_sim(GET => "/summary?db=$name&company=" . uri($company));
			delete @$summary{ 'pos.session', 'pos.session opened' };
			return {
				sessions => scalar @$sessions,
				open => scalar(grep { $_->{state} ne 'closed' } @$sessions),
				closed => scalar(grep { $_->{state} eq 'closed' } @$sessions),
				closings => scalar(grep { $_->{state} eq 'closed' } @$sessions),
				closing_requests => scalar(grep { ($_->{model_method} // '') eq 'close_session_from_ui' } @requests),
				opening_requests => scalar(grep { ($_->{model} // '') eq 'pos.config' && ($_->{model_method} // '') =~ /^(open_ui|open_session_cb)$/ } @requests),
				pos_active => scalar(grep { $_->{active} } @$configs) . ' of ' . scalar(@$configs),
				warehouses_active => scalar(grep { $_->{active} } @$warehouses) . ' of ' . scalar(@$warehouses),
				summary => $summary };
		},
		exported_kinds => sub {
			my ($name, $company) = @_;
			my ($cid) = map { $_->{id} } grep { $_->{name} eq $company } @{ odoo_sim(GET => "/records?db=$name&model=res.company") };
			my %counts = ('res.company' => 1);
			for my $model (qw(account.account account.journal stock.warehouse product.template res.partner pos.payment.method
				pos.config pos.session pos.order pos.order.line pos.payment))
			{
				my $n = grep { ($_->{company_id} // 0) == $cid || grep { $_ == $cid } @{ $_->{company_ids} // [] } }
					@{ odoo_sim(GET => "/records?db=$name&model=$model") };
				$counts{$model} = $n if $n;
			}
			return \%counts;
		},
		sales_kind => 'pos.order',
		# a resume unarchives the two warehouses the provisioning recorded (Main Store, POS
		# Store), not the one Odoo made with the company, which the offboarding archived too
		resumed_warehouses => sub { $_[0] =~ s/^\d+/2/r },
	});

# One cluster for the lifecycle crash tests of every kind: CrashResume's, with a short
# write_settle_ms
sub lifecycle_cluster
{
	my ($name) = @_;
	return crash_cluster($name, 'provisioning.write_settle_ms = ' . SETTLE_MS);
}

# The round trip on a new tenant of kind $kind on $node, every step of each run crashed
sub lifecycle_crash_each_step
{
	my ($node, $kind) = @_;
	my $k = $kinds{$kind};
	my $name = "life19_$kind";
	my $place = $k->{place}->($name);
	my $company = "Life19 \u$kind";
	my ($new_tenant, $check_finished) = crash_tenants($node, $kind);
	my $query = sub { $node->safe_psql('postgres', $_[0]) };

	($kind eq 'odoo' ? \&odoo_sim : \&sim)->(POST => '/reset', { ($kind eq 'odoo' ? 'db' : 'site') => $place });
	$new_tenant->($name, $company);
	$check_finished->($name, $company, "$kind: provisioning");
	my $tenant = $query->("SELECT id FROM provisioning.tenants WHERE name = '$company'");
	my $provisioned = $k->{state}->($name, $company);
	my $before = $provisioned;
	my $seen = 0;    # the last request of the engine a crash interrupted
	my $sold = 0;

	for my $op_index (0 .. $#round_trip)
	{
		my ($op, $args, $status, $steps) = @{ $round_trip[$op_index] };
		my $what = "$kind " . ($op_index + 1) . ". $op";
		if ($op eq 'suspend')
		{
			my $n = $op_index == 0 ? 3 : 2;
			is($k->{sales}->($name, $company, $n), $n, "$what: $n sales in the open session first");
			$sold += $n;
		}
		$k->{hold}->($name, $_) for grep { !$_->{after_crash} } @{ $k->{holds}{ $steps->[0] } };
		$query->("SELECT provisioning.provision_$op('$tenant'" . ($args ? ", $args" : '') . ')');
		my $run = $query->("SELECT id FROM provisioning.tenant_onboarding WHERE tenant_id = '$tenant'
			ORDER BY created_at DESC LIMIT 1");
		for my $i (0 .. $#$steps)
		{
			my $step = $steps->[$i];
			my $held;
			ok(wait_until("$step to run while the engine holds its request", 60, sub {
					($held) = grep { $_->{seq} > $seen && ($_->{fault} // '') eq 'delay' && !defined $_->{t_end} }
						SimEngine::requests_of($kind, $place);
					$held && $query->("SELECT s->>'status' FROM provisioning.tenant_onboarding o,
							jsonb_array_elements(o.provisioning_steps) s WHERE o.id = '$run' AND s->>'step' = '$step'")
						eq 'running';
				}), "$what: $step runs, the engine holds its request " . ($held ? $k->{call}->($held) : '(none)'));
			$seen = $held->{seq} if $held;
			$node->stop('immediate');
			$k->{hold}->($name, $_) for grep { $_->{after_crash} } @{ $k->{holds}{$step} };
			$k->{hold}->($name, $_) for grep { !$_->{after_crash} } $i < $#$steps ? @{ $k->{holds}{ $steps->[ $i + 1 ] } } : ();
			$node->start;
		}
		ok($node->poll_query_until('postgres',
				"SELECT status NOT IN ('PENDING', 'IN_PROGRESS') FROM provisioning.tenant_onboarding WHERE id = '$run'"),
			"$what: the run ends");
		is($query->("SELECT status FROM provisioning.tenant_onboarding WHERE id = '$run'"), 'COMPLETED',
			"$what: the run completes");
		is($query->("SELECT count(*) FROM provisioning.run_log WHERE run_id = '$run' AND message = 'run resumed'"),
			scalar @$steps, "$what: it was resumed once per step");
		is($query->("SELECT provisioning_status FROM provisioning.tenants WHERE id = '$tenant'"), $status,
			"$what: the tenant is $status");
		ok(engine_settled($place, $kind), "$what: the engine answered every request, the held ones too");

		my $after = $k->{state}->($name, $company);
		my %expected = (%$before, summary => $before->{summary});
		if ($op eq 'suspend')
		{
			# the session closed by one closing, sent once, the point of sale disabled
			$expected{$_}++ for qw(closings closed closing_requests);
			$expected{open}--;
			$expected{pos_active} = '0 of 1';
		}
		elsif ($op eq 'resume')
		{
			# one new session, opened by one request; everything enabled
			$expected{$_}++ for qw(sessions open opening_requests);
			$expected{pos_active} = '1 of 1';
			$expected{warehouses_active} = $k->{resumed_warehouses}->($provisioned->{warehouses_active})
				if $round_trip[ $op_index - 1 ][0] eq 'offboard';
		}
		else
		{
			# nothing closed (the suspend did), the warehouses disabled
			$expected{warehouses_active} = $before->{warehouses_active} =~ s/^\d+/0/r;
		}
		is_deeply($after, \%expected, "$what: the engine holds what it should, nothing twice");
		$before = $after;

		if ($op eq 'offboard')
		{
			my %exported = map { split /\|/ } split /\n/,
				$query->("SELECT kind, count(*) FROM provisioning.tenant_exports WHERE run_id = '$run' GROUP BY kind");
			is_deeply(\%exported, $k->{exported_kinds}->($name, $company),
				"$what: each kind exported as many times as the engine counts it");
			is($exported{ $k->{sales_kind} }, $sold, "$what: the $sold sales, each once");
			is($query->("SELECT count(*) - count(DISTINCT (kind, key)) FROM provisioning.tenant_exports WHERE tenant_id = '$tenant'"),
				'0', "$what: no document exported twice");
		}
	}
	is($query->("SELECT string_agg(action, ',' ORDER BY at, id) FROM provisioning.audit WHERE tenant_id = '$tenant'"),
		'auto_start,suspend,resume,suspend,offboard,resume', "$kind: the audit, each request once");
	($kind eq 'odoo' ? \&odoo_sim : \&sim)->(DELETE => '/faults');
}

1;
