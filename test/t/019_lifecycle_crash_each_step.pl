# Crash safety of the lifecycle operations in each of their steps, for ERPNext and Odoo on
# one cluster: a tenant with a few sales goes round suspend -> resume -> suspend -> offboard
# -> resume, the server stopped in immediate mode in every step of every run while the
# engine holds the step's request (test/t/lib/LifecycleCrash.pm). 017 and 018 crash a
# long export in the middle of its pages.
use strict;
use warnings;
use Test::More;
use LifecycleCrash;

my $node = lifecycle_cluster('lifecycle_each_step');
lifecycle_crash_each_step($node, $_) for qw(erpnext odoo);
$node->stop;
done_testing();
