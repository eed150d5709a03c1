# The simulated engines' control API for the Perl TAP tests: sim() talks to the simulated
# ERPNext (test/sim/erpnext_sim.py), odoo_sim() to the simulated Odoo (odoo_sim.py).
# test/run.sh starts one of each for every test and exports SIM_CONTROL and SIM_PORT,
# ODOO_SIM_CONTROL and ODOO_SIM_PORT; run without them (make prove_installcheck), each test
# file starts engines of its own. The helpers that wait take the engine's kind last
# (default erpnext): a site of ERPNext, a database of Odoo.
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

our @EXPORT = qw(sim odoo_sim sim_port odoo_sim_port wait_until wait_for_delayed_request engine_settled);

my @sim_pids;

# How each simulated engine is started and asked: its script, the environment variables
# that say where it listens, what names a tenant's place in it, and what of a logged
# request a fault's target is matched against.
my %engines = (
	erpnext => { script => 'erpnext_sim.py', env => 'SIM', scope => 'site', call => 'path' },
	odoo => { script => 'odoo_sim.py', env => 'ODOO_SIM', scope => 'db', call => 'rpc' });

# Starts a simulated engine on loopback (ports chosen by the system) and waits, up to
# 30 s, for it to say where it listens.
sub start_engine
{
	my ($e) = @_;
	my $dir = tempdir(CLEANUP => 1);
	my $script = dirname(__FILE__) . "/../../sim/$e->{script}";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open(STDOUT, '>', "$dir/sim.log");
		open(STDERR, '>&', \*STDOUT);
		exec('python3', $script, '--port', '0', '--control-port', '0', '--ready-file', "$dir/sim.json")
		  or POSIX::_exit(127);
	}
	push @sim_pids, $pid;
	my $deadline = time() + 30;    # the engine renames its ready file into place when it listens
	sleep(0.05) until -s "$dir/sim.json" || time() > $deadline;
	die "TIMEOUT after 30 s waiting for the simulated engine $e->{script} to start (log: $dir/sim.log)"
	  unless -s "$dir/sim.json";
	my $ready = decode_json(do { local (@ARGV, $/) = ("$dir/sim.json"); <> });
	$ENV{"$e->{env}_PORT"} = $ready->{port};
	$ENV{"$e->{env}_CONTROL"} = "http://127.0.0.1:$ready->{control_port}";
}

END { kill('TERM', $_) for @sim_pids; }

for my $e (values %engines)
{
	start_engine($e) unless $ENV{"$e->{env}_CONTROL"};
	$e->{control} = $ENV{"$e->{env}_CONTROL"};
}
my $http = HTTP::Tiny->new(timeout => 10);

sub sim_port { return $ENV{SIM_PORT}; }
sub odoo_sim_port { return $ENV{ODOO_SIM_PORT}; }

# One call of an engine's control API: engine_call(KIND, METHOD => PATH, BODY).
sub engine_call
{
	my ($kind, $method, $path, $body) = @_;
	my $res = $http->request($method, "$engines{$kind}{control}$path",
		defined $body ? { content => encode_json($body) } : {});
	die "simulated $kind: $method $path: $res->{status} $res->{content}" unless $res->{success};
	return decode_json($res->{content});
}

# sim(METHOD => PATH, BODY): the simulated ERPNext; odoo_sim(...): the simulated Odoo.
sub sim { return engine_call('erpnext', @_); }
sub odoo_sim { return engine_call('odoo', @_); }

sub requests_of
{
	my ($kind, $place) = @_;
	return @{ engine_call($kind, GET => "/requests?$engines{$kind}{scope}=$place") };
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

# Waits until the engine received a request that a "delay" fault holds (one whose path,
# or for Odoo whose call words, match $call when given).
sub wait_for_delayed_request
{
	my ($place, $call, $kind) = @_;
	$call //= qr/./;
	$kind //= 'erpnext';
	my $field = $engines{$kind}{call};
	return wait_until("$place to receive a request held by a delay fault ($field $call)", 30,
		sub { grep { ($_->{fault} // '') eq 'delay' && ($_->{$field} // '') =~ $call } requests_of($kind, $place) });
}

# Waits until the engine has finished every request it received for the site or database.
sub engine_settled
{
	my ($place, $kind) = @_;
	$kind //= 'erpnext';
	return wait_until("$place to finish every request it received", 60,
		sub { !grep { !defined $_->{t_end} } requests_of($kind, $place) });
}

1;
