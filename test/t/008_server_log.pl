# The server log tells each run's story (issue 13). With log_destination = 'stderr,jsonlog':
# every event of a run is one line carrying its correlation id, run, tenant, engine, kind
# and step in a fixed order, each step's lines in the order the run log has them (steps
# that run at once interleave), with the durations the run log has; the same lines parse
# from jsonlog's message field; a worker's pg_stat_activity row names the tenant and step
# it is on. Then, with log_min_messages and
# provisioning.log_level at debug5, runs that succeed, are refused (401) and find the
# engine offline write no sentinel secret anywhere in the log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use SimEngine;
use Time::HiRes qw(time sleep);

my $sim_port = sim_port();
my $key = 'KEY-SENTINEL-91c2e7';
my $secret = 'SECRET-SENTINEL-5d0f3a';

my $node = PostgreSQL::Test::Cluster->new('server_log');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'provisioning'
provisioning.database_name = 'postgres'
provisioning.http_connect_timeout_ms = 500
provisioning.http_timeout_ms = 3000
provisioning.http_retry_delay_ms = 10
logging_collector = on
log_destination = 'stderr,jsonlog'
log_directory = 'log'
log_filename = 'server.log'
});
$node->start;
my $plain_file = $node->data_dir . '/log/server.log';
my $json_file = $node->data_dir . '/log/server.json';

# The engines are written with statement logging off: the INSERT is the user's own text.
for my $site (qw(story refused)) { sim(POST => '/reset', { site => "$site.localhost" }); }
sim(POST => '/sites/story.localhost/credentials', { api_key => $key, api_secret => $secret });
$node->safe_psql('postgres', qq{
	CREATE EXTENSION provisioning;
	SET log_statement = 'none';
	INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret) VALUES
		('story', 'erpnext', 'http://story.localhost:$sim_port', '$key', '$secret'),
		('refused', 'erpnext', 'http://refused.localhost:$sim_port', '$key', '$secret'),
		('gone', 'erpnext', 'http://127.0.0.1:9', '$key', '$secret');});

# ---------------------------------------------------------------- helpers

# key=value pairs of an event line; quoted values unescaped
sub fields
{
	my ($message) = @_;
	my %f;
	while ($message =~ /(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)
	{
		my ($k, $v) = ($1, $2);
		if ($v =~ /^"(.*)"$/s)
		{
			$v = $1;
			$v =~ s/\\x([0-9a-f]{2})/chr(hex($1))/ge;
			$v =~ s/\\n/\n/g;
			$v =~ s/\\t/\t/g;
			$v =~ s/\\r/\r/g;
			$v =~ s/\\(.)/$1/g;
		}
		$f{$k} = $v;
	}
	return \%f;
}

# The event lines of the plain log naming a correlation id, in order: [message, next line].
sub plain_events
{
	my ($cid) = @_;
	my @lines = split /\n/, slurp_file($plain_file);
	my @events;
	for my $i (0 .. $#lines)
	{
		next unless $lines[$i] =~ /(?:LOG|DEBUG):  (provisioning event=.*correlation_id=\Q$cid\E .*)$/;
		push @events, [ $1, $lines[ $i + 1 ] // '' ];
	}
	return @events;
}

# The jsonlog records naming a correlation id, in order.
sub json_events
{
	my ($cid) = @_;
	my @records;
	for my $line (split /\n/, slurp_file($json_file))
	{
		next unless $line =~ /\Q$cid\E/;
		my $record = decode_json($line);
		push @records, $record if ($record->{message} // '') =~ /^provisioning event=/;
	}
	return @records;
}

# Polls until the log holds the run's run_finished line.
sub wait_for_run_finished
{
	my ($cid) = @_;
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		return 1 if grep { $_->[0] =~ /event=run_finished/ } plain_events($cid);
		sleep(0.05);
	}
	return 0;
}

sub new_tenant
{
	my ($name, $engine) = @_;
	return $node->safe_psql('postgres',
		"INSERT INTO provisioning.tenants (name, engine) VALUES ('$name', '$engine') RETURNING id");
}

sub latest_run
{
	my ($tenant) = @_;
	my ($run, $cid) = split /\|/, $node->safe_psql('postgres',
		"SELECT id, correlation_id FROM provisioning.tenant_onboarding WHERE tenant_id = '$tenant' ORDER BY created_at DESC LIMIT 1");
	return ($run, $cid);
}

sub wait_final
{
	my ($tenant) = @_;
	return $node->poll_query_until('postgres',
		"SELECT provisioning_status <> 'PROVISIONING' FROM provisioning.tenants WHERE id = '$tenant'");
}

# ---------------------------------------------------------------- a run's story

# One write fails transiently (a retry), and step 7's lookup is held for a while, so the
# worker can be seen on it.
sim(POST => '/faults', { site => 'story.localhost', method => 'POST', path => '^/api/resource/Company$',
	action => 'status', status => 503, times => 1 });
sim(POST => '/faults', { site => 'story.localhost', method => 'GET', path => '^/api/resource/Customer\?',
	action => 'delay', delay_ms => 1500, times => 1 });
my $story = new_tenant('Story Retail', 'story');
ok(wait_for_delayed_request('story.localhost'), 'the run reaches the customer step');
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type IN ('provisioning run', 'provisioning step')
	   AND query LIKE '%tenant_id=$story %step=step_7_customer %'}),
	'pg_stat_activity: a provisioning run or step backend on the tenant and its step');
ok(wait_final($story), 'the run ends');
my ($run, $cid) = latest_run($story);
# why, when it did not complete (the assertions below then fail)
diag($node->safe_psql('postgres', "SELECT concat_ws(' ', provisioning_status, provisioning_error) FROM provisioning.tenants WHERE id = '$story'"))
  if $node->safe_psql('postgres', "SELECT provisioning_status FROM provisioning.tenants WHERE id = '$story'") ne 'PROVISIONED';
ok(wait_for_run_finished($cid), 'the run_finished line is in the log');

# What the events must be, from the run log: queued, started, each executed step (with a
# retry line per retried attempt), finished. Steps that run at once interleave: each
# step's lines keep their order, and the run's lines frame them.
my @log_rows = map { [ split /\|/ ] } split /\n/, $node->safe_psql('postgres', qq{
	SELECT coalesce(step, ''), status, coalesce(duration_ms::text, '')
	  FROM provisioning.run_log WHERE run_id = '$run' ORDER BY id});
my (@expected, %duration, $run_duration);
my %retries;
$retries{ $_->[0] }++ for grep { $_->[1] eq 'retrying' } @log_rows;
for my $row (@log_rows)
{
	my ($step, $status, $ms) = @$row;
	if ($status eq 'PENDING') { push @expected, 'run_queued' }
	elsif ($status eq 'IN_PROGRESS') { push @expected, 'run_started' }
	elsif ($step eq '') { push @expected, 'run_finished'; $run_duration = $ms }
	elsif ($status ne 'retrying')
	{
		push @expected, "step_started $step", ("step_retry $step") x ($retries{$step} // 0),
		  "step_finished $step";
		$duration{$step} = $ms;
	}
}
is($retries{step_2_company}, 1, 'the run log has the retried write');

my @plain = plain_events($cid);
my @events = map { my $f = fields($_->[0]); $f->{event} =~ /^step_/ ? "$f->{event} $f->{step}" : $f->{event} } @plain;
# [the run's lines], {step => its lines}
my $story_of = sub {
	my (@frame, %steps);
	for (@_) { if (/^step_\w+ (\S+)$/) { push @{ $steps{$1} }, $_ } else { push @frame, $_ } }
	return [ \@frame, \%steps ];
};
is_deeply($story_of->(@events), $story_of->(@expected),
	'every event of the run is one line, each step\'s in the run log\'s order');
is_deeply([ @events[ 0, 1, -1 ] ], [ 'run_queued', 'run_started', 'run_finished' ],
	'...queued and started first, finished last');
is(scalar(grep { $_->[0] !~ /^provisioning event=\w+ correlation_id=\Q$cid\E run_id=\Q$run\E tenant_id=\Q$story\E engine=story kind=erpnext step=\S+( |$)/ } @plain),
	0, 'each names correlation id, run, tenant, engine, kind and step, in that order');
is(scalar(grep { $_->[1] =~ /\] .*?\b(DETAIL|CONTEXT|STATEMENT|HINT):  / } @plain),
	0, 'no DETAIL, CONTEXT or STATEMENT line follows any of them');

my %finished = map { my $f = fields($_->[0]); $f->{event} eq 'step_finished' ? ($f->{step} => $f) : () } @plain;
is_deeply({ map { $_ => $finished{$_}{duration_ms} } keys %finished },
	{ map { $_ => sprintf('%.3f', $duration{$_}) } keys %duration },
	'each step_finished carries the step\'s duration as the run log has it');
is(scalar(grep { $_->{status} !~ /^(completed|exists)$/ || $_->{attempts} !~ /^\d+$/ || $_->{engine_ms} !~ /^\d+\.\d{3}$/ } values %finished),
	0, '...and its status, attempts and engine time');
is($finished{step_2_company}{attempts}, 2, 'the retried step took two attempts');
my ($retry) = grep { $_->{event} eq 'step_retry' } map { fields($_->[0]) } @plain;
like($retry->{error}, qr/^POST \/api\/resource\/Company: HTTP 503/, 'the retry line carries the engine\'s error');
like($retry->{wait_ms}, qr/^\d+$/, '...and the wait');
my $end = fields($plain[-1][0]);
is($end->{status}, 'COMPLETED', 'run_finished: the status');
cmp_ok($end->{duration_ms}, '>=', $run_duration, '...the total duration (at least the run log\'s)');
cmp_ok($end->{duration_ms}, '<', $run_duration + 1000, '...taken as the run ended');
cmp_ok($end->{engine_ms}, '>', 1500, '...and the engine time, which includes the held request');
# steps that run at once spend engine time at once: it is part of the steps' durations
my $steps_ms = 0;
$steps_ms += $_ for values %duration;
cmp_ok($end->{engine_ms}, '<=', $steps_ms + 0.01, '...and is part of the steps\' durations');
like($end->{record_ms}, qr/^\d+\.\d{3}$/, '...and the time in the run\'s own transactions');
cmp_ok($end->{record_ms}, '<', $end->{duration_ms}, '...which is part of the run\'s duration');

# The same run from jsonlog
my @json = json_events($cid);
# (lines of steps that run at once may reach the two files in different orders)
is_deeply([ sort map { $_->{message} } @json ], [ sort map { $_->[0] } @plain ], 'jsonlog: the same lines in its message field');
is_deeply([ map { $_->{error_severity} } @json ], [ ('LOG') x @json ], 'jsonlog: at LOG');
is_deeply([ map { $_->{backend_type} } @json[ 0, 1, -1 ] ],
	[ 'client backend', 'provisioning run', 'provisioning run' ],
	'jsonlog: queued by the client, started and finished by the run worker');
is(scalar(grep { $_->{backend_type} !~ /^provisioning (run|step)$/ } @json[ 1 .. $#json ]), 0,
	'jsonlog: each step\'s lines by the run worker or a step worker');
is(scalar(grep { exists $_->{statement} || exists $_->{context} || exists $_->{detail} } @json), 0,
	'jsonlog: no statement, context or detail');

# ---------------------------------------------------------------- errors

my $refused = new_tenant('Refused Retail', 'refused');
my $gone = new_tenant('Gone Retail', 'gone');
ok(wait_final($refused) && wait_final($gone), 'the refused and the offline runs end');
my (undef, $refused_cid) = latest_run($refused);
my (undef, $gone_cid) = latest_run($gone);
ok(wait_for_run_finished($refused_cid) && wait_for_run_finished($gone_cid), 'their run_finished lines are in the log');
my @refused = map { fields($_->[0]) } plain_events($refused_cid);
like((grep { $_->{event} eq 'step_finished' } @refused)[0]{error}, qr/^the engine refused the API key: GET .*: HTTP 401/,
	'a refused key: the step_finished line carries the engine\'s answer');
is_deeply([ @{ $refused[-1] }{qw(event status step)} ], [ 'run_finished', 'FAILED', 'step_0_engine_check' ],
	'...and run_finished names the status and the failed step');
my @gone = map { fields($_->{message}) } json_events($gone_cid);
is(scalar(grep { $_->{event} eq 'step_retry' && $_->{error} =~ /^the engine is offline/ } @gone), 3,
	'an offline engine: three retry lines with the cause');
is_deeply([ @{ $gone[-1] }{qw(event status)} ], [ 'run_finished', 'NOT_PROVISIONED' ], '...then NOT_PROVISIONED');

# ---------------------------------------------------------------- debug5: no secret anywhere

$node->append_conf('postgresql.conf', "log_min_messages = debug5\nprovisioning.log_level = debug5\n");
$node->restart;
my $log_size = -s $plain_file;
$node->safe_psql('postgres', "SELECT provisioning.provision_start(id) FROM provisioning.tenants");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 6 FROM provisioning.tenant_onboarding WHERE status NOT IN ('PENDING', 'IN_PROGRESS')"),
	'three more runs end at debug5');
my (undef, $debug_cid) = latest_run($story);
ok(wait_for_run_finished($debug_cid), 'the new run_finished line is in the log');
is_deeply([ map { $_->{error_severity} } json_events($debug_cid) ], [ ('DEBUG') x 21 ],
	'provisioning.log_level = debug5: the run\'s 21 lines (queued, started, 9 steps, finished) are DEBUG lines');
my $everything = join("\n", map { slurp_file($_) } ($plain_file, $json_file, $node->logfile));
my $debug_lines = () = substr(slurp_file($plain_file), $log_size) =~ /DEBUG:  /g;
cmp_ok($debug_lines, '>', 50, 'the server log is verbose (debug5)');
unlike($everything, qr/\Q$secret\E/, 'no secret in the server log, plain or jsonlog');
unlike($everything, qr/\Q$key\E/, 'no API key in the server log, plain or jsonlog');

$node->stop;
done_testing();
