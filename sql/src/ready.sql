-- Last: the workers wait for this schema (src/queue.c, extension_ready); once it commits, the
-- queue is theirs.
DO $$
BEGIN
    IF provisioning._workers_serve_here() THEN
        PERFORM provisioning._wake();
    END IF;
END
$$;
