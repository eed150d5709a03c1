-- A run ends while its create of the Walk-In Customer is unanswered: the engine holds the
-- request past the client's timeout (3 s) and applies it at 4.5 s, and every lookup after the
-- create fails (HTTP 500), so the run ends FAILED at about 3 s. A retry then starts at once,
-- well within provisioning.write_settle_ms (6 s here) of the first send: it must look the
-- customer up until it appears, not create it again. Once by provision_retry, once by
-- retry_due() (the scheduled retry).
\set ignored `$SIMCTL :sim clear`
\set retry provision_retry
\ir 28_retry_settles_once.sql
\set retry retry_due
\ir 28_retry_settles_once.sql
