# The simulated ERPNext's control API for the Perl TAP tests (test/sim/erpnext_sim.py).
# test/run.sh starts the engine and exports SIM_CONTROL and SIM_PORT.
package SimEngine;
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(sim sim_port wait_for_delayed_request engine_settled);

my $control = $ENV{SIM_CONTROL} or die "SIM_CONTROL is not set: run this through test/run.sh";
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

# Waits until the site's engine received the request a "delay" fault holds.
sub wait_for_delayed_request
{
	my ($site) = @_;
	my $deadline = time() + 30;
	while (time() < $deadline)
	{
		return 1 if grep { ($_->{fault} // '') eq 'delay' } @{ sim(GET => "/requests?site=$site") };
		sleep(0.02);
	}
	return 0;
}

# Waits until the site's engine has finished every request it received.
sub engine_settled
{
	my ($site) = @_;
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		return 1 unless grep { !defined $_->{t_end} } @{ sim(GET => "/requests?site=$site") };
		sleep(0.05);
	}
	return 0;
}

1;
