# Crash safety while steps run at once: the server stops while two steps of one run each
# hold a create in the engine, for ERPNext and Odoo (test/t/lib/CrashResume.pm).
use strict;
use warnings;
use Test::More;
use CrashResume;

crash_overlapping('erpnext');
crash_overlapping('odoo');
done_testing();
