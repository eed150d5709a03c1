# The simulated ERPNext's control API for the Perl TAP tests (test/sim/erpnext_sim.py).
# test/run.sh starts one engine for every test and exports SIM_CONTROL and SIM_PORT; run
# without them (make prove_installcheck), each test file starts an engine of its own.
package SimEngine;
use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Test::More ();
use Time::HiRes qw(time sleep);

our @EXPORT = qw(sim sim_port wait_for_delayed_request engine_settled);

my $sim_pid;

# Starts the simulated engine on loopback (ports chosen by the system) and waits, up to
# 30 s, for it to say where it listens.
sub start_engine
{
	my $dir = tempdir(CLEANUP => 1);
	my $script = dirname(__FILE__) . '/../../sim/erpnext_sim.py';
	$sim_pid = fork() // die "fork: $!";
	if ($sim_pid == 0)
	{
		open(STDOUT, '>', "$dir/sim.log");
		open(STDERR, '>&', \*STDOUT);
		exec('python3', $script, '--port', '0', '--control-port', '0', '--ready-file', "$dir/sim.json")
		  or POSIX::_exit(127);
	}
	my $deadline = time() + 30;    # the engine renames its ready file into place when it listens
	sleep(0.05) until -s "$dir/sim.json" || time() > $deadline;
	die "TIMEOUT after 30 s waiting for the simulated engine to start (log: $dir/sim.log)" unless -s "$dir/sim.json";
	my $ready = decode_json(do { local (@ARGV, $/) = ("$dir/sim.json"); <> });
	$ENV{SIM_PORT} = $ready->{port};
	$ENV{SIM_CONTROL} = "http://127.0.0.1:$ready->{control_port}";
}

END { kill('TERM', $sim_pid) if $sim_pid; }

start_engine() unless $ENV{SIM_CONTROL};
my $control = $ENV{SIM_CONTROL};
my $http = HTTP::Tiny->new(timeout => 10);

sub sim_port { return $ENV{SIM_PORT}; }

# One call of the control API: sim(METHOD => PATH, BODY).
sub sim
{
	my ($method, $path, $body) = @_;
	my $res = $http->request($method, "$control$path", defined $body ? { content => encode_json($body) } : {});
	die "simulated engine: $method $path: $res->{status} $res->{content}" unless $res->{success};
	return decode_json($res->{content});
}

# Polls check until it returns true; after the deadline it says what it waited for, and
# returns false so that the test's assertion fails.
sub wait_until
{
	my ($what, $seconds, $check) = @_;
	my $deadline = time() + $seconds;
	while (time() < $deadline)
	{
		return 1 if $check->();
		sleep(0.02);
	}
	Test::More::diag("TIMEOUT after $seconds s waiting for $what");
	return 0;
}

# Waits until the site's engine received a request that a "delay" fault holds (one whose
# path matches $path, when given).
sub wait_for_delayed_request
{
	my ($site, $path) = @_;
	$path //= qr/./;
	return wait_until("$site to receive a request held by a delay fault (path $path)", 30,
		sub { grep { ($_->{fault} // '') eq 'delay' && $_->{path} =~ $path } @{ sim(GET => "/requests?site=$site") } });
}

# Waits until the site's engine has finished every request it received.
sub engine_settled
{
	my ($site) = @_;
	return wait_until("$site to finish every request it received", 60,
		sub { !grep { !defined $_->{t_end} } @{ sim(GET => "/requests?site=$site") } });
}

1;
