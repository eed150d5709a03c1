# The library exports its entry points only. PostgreSQL loads libraries with RTLD_GLOBAL,
# so an exported internal name (http_request, config_text...) could bind to another
# preloaded library's function of the same name (pgsql-http exports http_request).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;

my ($pkglibdir) = run_command([ 'pg_config', '--pkglibdir' ]);
chomp $pkglibdir;
my ($symbols) = run_command([ 'nm', '-D', '--defined-only', "$pkglibdir/provisioning.so" ]);
my @exported = sort map { (split)[2] } grep { /\s[TDBR]\s/ } split /\n/, $symbols;
is_deeply(\@exported, [ sort qw(
	Pg_magic_func _PG_init
	pg_finfo_provisioning_engine_health provisioning_engine_health
	pg_finfo_provisioning_vocabulary provisioning_vocabulary
	pg_finfo_provisioning_log_run_queued provisioning_log_run_queued
	pg_finfo_provisioning_run_notify provisioning_run_notify
	pg_finfo_provisioning_wake provisioning_wake
	pg_finfo_provisioning_workers_serve_here provisioning_workers_serve_here
	pg_finfo_provisioning_driver_kinds provisioning_driver_kinds
	pg_finfo_provisioning_driver_catalog provisioning_driver_catalog
	pg_finfo_provisioning_workspace_url provisioning_workspace_url
	pg_finfo_provisioning_step_is_done provisioning_step_is_done
	pg_finfo_provisioning_tenant_status_of_run provisioning_tenant_status_of_run
	pg_finfo_provisioning_progress provisioning_progress
	pg_finfo_provisioning_engine_paused provisioning_engine_paused
	pg_finfo_provisioning_engine_use provisioning_engine_use
	provisioning_launcher_main provisioning_run_main provisioning_step_main) ],
	'provisioning.so exports its entry points and nothing else');
done_testing();
