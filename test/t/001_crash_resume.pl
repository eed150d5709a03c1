# Crash safety with ERPNext: the server stopped in the middle of each step, a killed run
# worker, a fast shutdown (test/t/lib/CrashResume.pm; 009_crash_resume_odoo.pl for Odoo).
use strict;
use warnings;
use Test::More;
use CrashResume;

crash_resume('erpnext');
done_testing();
