# Crash safety with Odoo: the server stopped in the middle of each step, a killed run
# worker, a fast shutdown (test/t/lib/CrashResume.pm; 001_crash_resume.pl for ERPNext).
use strict;
use warnings;
use Test::More;
use CrashResume;

crash_resume('odoo');
done_testing();
