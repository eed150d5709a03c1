-- Malformed answers: one tenant per answer of the simulator's corpus (simctl malformed:
-- nulls and wrong types where ids, names and lists are expected, error envelopes with HTTP
-- 200, nesting 100,000 deep, a truncated answer, an HTML page, an empty body, an answer past
-- provisioning.max_response_size, bytes that are not UTF-8) and mode: the engine answers
-- each distinct request of the tenant once with it, after applying the call ("applied") or
-- instead of it ("instead"). All at once, with a clean tenant beside them. Every run ends.
-- Retried round after round with the answers still coming (a retry passes the requests
-- answered before and meets new ones), the retries end too, and every tenant completes
-- under the rule: as it answers every distinct request once, each request of the tenant's
-- full run met the malformed answer. Its engine then holds exactly what the clean tenant's
-- does: one of everything (a malformed answer to a lookup never passed for "absent", nor
-- one to a create for "made").
\set corpus `$SIMCTL :sim malformed`
INSERT INTO tap_fuzz.runs (kind, answer, mode, eng)
SELECT :'kind', a, m, 'fz-' || replace(a, '_', '-') || '-' || m || :'tag'
  FROM jsonb_array_elements_text(:'corpus'::jsonb) a, unnest(ARRAY['applied', 'instead']) m;
SELECT jsonb_agg(jsonb_build_object(CASE :'kind' WHEN 'odoo' THEN 'db' ELSE 'site' END, eng || :'host',
                                    'action', 'malformed', 'answer', answer, 'mode', mode,
                                    'once_per_request', true, 'times', -1)) AS rules
  FROM tap_fuzz.runs WHERE kind = :'kind' \gset
\set ignored `$SIMCTL :sim fault :'rules'`

\set eng fz-control:tag
SELECT count(test.new_test_engine(:'kind', eng)) AS engines FROM tap_fuzz.runs WHERE kind = :'kind' \gset
SELECT test.new_test_engine(:'kind', :'eng') IS NOT NULL AS engine;
INSERT INTO provisioning.tenants (name, engine, settings)
VALUES ('Fuzz Control', :'eng', '{"include_demo_data": true}') RETURNING id AS control \gset
WITH t AS (INSERT INTO provisioning.tenants (name, engine, settings)
           SELECT format('Fuzz %s %s', answer, mode), eng, '{"include_demo_data": true}'
             FROM tap_fuzz.runs WHERE kind = :'kind'
           RETURNING id, engine)
UPDATE tap_fuzz.runs r SET tenant = t.id FROM t WHERE r.eng = t.engine;

SELECT is(tap_fuzz.unfinished(:'kind', 120), '{}', :'kind' || ': every run meeting malformed answers ends');
CALL tap_fuzz.rounds(:'kind', 40, 60) \gset
SELECT is(coalesce((SELECT array_agg(r.answer || ' ' || r.mode || ': ' || (provisioning.provision_status(r.tenant)->>'status')
                                     ORDER BY r.answer, r.mode)
                      FROM tap_fuzz.runs r
                     WHERE r.kind = :'kind' AND provisioning.provision_status(r.tenant)->>'status' <> 'COMPLETED'),
                   :'stuck'::text[]),
          '{}', :'kind' || ': retried under the malformed answers, every run ends and every tenant completes (in '
                || :done || ' rounds)');
\set faults `$SIMCTL :sim faults`
SELECT diag(:'kind' || ': ' || :done || ' rounds of retries; requests answered malformed, per answer and mode: ' ||
            string_agg(format('%s %s %s', f->>'answer', f->>'mode', f->>'answered'), ', ' ORDER BY f->>'answer', f->>'mode'))
  FROM jsonb_array_elements(:'faults'::jsonb) f;
\set ignored `$SIMCTL :sim clear`

SELECT is(test.wait_final(:'control', 30), 'COMPLETED', :'kind' || ': the clean tenant completes');
\ir one_of_everything.sql
\set control :summary
SELECT string_agg(eng || :'host', ' ') AS sites FROM tap_fuzz.runs WHERE kind = :'kind' \gset
\set summaries `for s in :sites; do printf '%s\t' "$s"; $SIMCTL :sim summary "$s"; echo; done`
-- (ERPNext's default warehouse is named after each company)
SELECT is((SELECT jsonb_object_agg(split_part(l, E'\t', 1), split_part(l, E'\t', 2)::jsonb)
             FROM regexp_split_to_table(:'summaries', E'\n') l
            WHERE l <> '' AND split_part(l, E'\t', 2)::jsonb #- '{Stock Settings,default_warehouse}'
                              <> :'control'::jsonb #- '{Stock Settings,default_warehouse}'),
          NULL, :'kind' || ': every engine holds what the clean tenant''s does, one of everything');

SELECT is((SELECT array_agg(DISTINCT r.answer || ' ' || r.mode || ': ' || l.message)
             FROM tap_fuzz.runs r, provisioning.provision_logs(r.tenant) l
            WHERE r.kind = :'kind' AND l.message LIKE '%internal error%'),
          NULL, :'kind' || ': no step failed with an internal error');
SELECT ok(bool_and(EXISTS (SELECT FROM provisioning.provision_logs(r.tenant) l
                            WHERE l.message LIKE '%the engine''s answer is larger than provisioning.max_response_size (1024 kB)%')),
          :'kind' || ': an answer past provisioning.max_response_size fails the attempt saying so')
  FROM tap_fuzz.runs r WHERE r.kind = :'kind' AND r.answer = 'huge';
