-- Analysts' SQL (ombud_store::analytics): read-only views with the same
-- names and columns as on SQLite, in a schema of their own, read by a role
-- that may read nothing else. Views run with their owner's rights, so the
-- role needs no grant on any table; `users` and `tokens` stay out of reach.
-- Timestamps read YYYY-MM-DDTHH:MM:SSZ (UTC), as on SQLite.

CREATE SCHEMA analytics;

CREATE VIEW analytics.escalations AS
SELECT 'ESC-' || e.id AS key, e.type AS type, e.state->>'title' AS title,
       e.partner AS partner, e.state->>'channel' AS channel, e.status AS status,
       e.priority AS priority, e.assignee AS assignee, e.queue AS queue,
       e.country AS country, e.language AS language, e.sensitive::int AS sensitive,
       e.consults_open AS consults_open,
       substr(e.state->>'received_at', 1, 19) || 'Z' AS received_at,
       to_char(to_timestamp(e.created_at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
       to_char(to_timestamp(e.updated_at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS updated_at,
       to_char(to_timestamp(e.due_at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS due_at,
       e.state->'decision'->>'outcome' AS outcome,
       e.state->'decision'->>'root_cause' AS root_cause,
       substr(e.state->'decision'->>'decided_at', 1, 19) || 'Z' AS decided_at
FROM public.escalations e;

CREATE VIEW analytics.events AS
SELECT 'ESC-' || v.escalation_id AS escalation_key, v.seq AS seq, v.kind AS kind,
       v.visibility AS visibility, v.actor_id AS actor, v.actor_name AS actor_name,
       v.actor_role AS actor_role,
       to_char(to_timestamp(v.at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at,
       v.data::text AS data
FROM public.events v;

CREATE VIEW analytics.clocks AS
SELECT 'ESC-' || e.id AS escalation_key, c->>'kind' AS kind,
       c->'source'->>'kind' AS source_kind, c->'source'->>'id' AS source_id,
       c->>'target' AS target,
       substr(c->>'started_at', 1, 19) || 'Z' AS started_at,
       substr(c->>'due_at', 1, 19) || 'Z' AS due_at,
       substr(c->>'stopped_at', 1, 19) || 'Z' AS stopped_at
FROM public.escalations e
CROSS JOIN LATERAL jsonb_array_elements(e.state->'clocks') AS c;

CREATE VIEW analytics.decisions AS
SELECT 'ESC-' || e.id AS escalation_key, d->>'outcome' AS outcome,
       d->>'policy' AS policy, d->>'policy_version' AS policy_version,
       d->>'root_cause' AS root_cause, d->>'root_cause_note' AS root_cause_note,
       d->>'owning_team' AS owning_team, d->'upstream_fix'->>'url' AS fix_url,
       d->'upstream_fix'->>'status' AS fix_status, d->'upstream_fix'->>'owner' AS fix_owner,
       d->>'decided_by' AS decided_by,
       substr(d->>'decided_at', 1, 19) || 'Z' AS decided_at
FROM public.escalations e
CROSS JOIN LATERAL (SELECT e.state->'decision') AS decision(d)
WHERE d IS NOT NULL AND jsonb_typeof(d) = 'object';

CREATE VIEW analytics.decision_actions AS
SELECT 'ESC-' || e.id AS escalation_key, a->>'subject' AS subject, a->>'action' AS action,
       coalesce((SELECT string_agg(x.c, ',' ORDER BY x.n)
                 FROM jsonb_array_elements_text(a->'countries') WITH ORDINALITY AS x(c, n)), '') AS countries
FROM public.escalations e
CROSS JOIN LATERAL jsonb_array_elements(e.state->'decision'->'actions') AS a;

CREATE VIEW analytics.consults AS
SELECT 'ESC-' || e.id AS escalation_key, (c->>'id')::bigint AS id, c->>'function' AS function,
       (c->>'required')::boolean::int AS required, c->>'requested_by' AS requested_by,
       substr(c->>'requested_at', 1, 19) || 'Z' AS requested_at,
       substr(c->>'due_at', 1, 19) || 'Z' AS due_at,
       c->'answer'->>'verdict' AS verdict, c->'answer'->>'by' AS answered_by,
       substr(c->'answer'->>'at', 1, 19) || 'Z' AS answered_at
FROM public.escalations e
CROSS JOIN LATERAL jsonb_array_elements(e.state->'consults') AS c;

CREATE VIEW analytics.partners AS
SELECT p.slug AS slug, p.state->>'name' AS name, p.state->>'kind' AS kind,
       (p.state->>'tier')::bigint AS tier, p.state->>'country' AS country,
       p.state->>'language' AS language, (p.state->>'active')::boolean::int AS active,
       substr(p.state->>'created_at', 1, 19) || 'Z' AS created_at
FROM public.partners p;

CREATE VIEW analytics.subjects AS
SELECT 'ESC-' || s.escalation_id AS escalation_key, s.normalized_key AS subject,
       s.kind AS kind, s.surface AS surface
FROM public.escalation_subjects s;

CREATE VIEW analytics.tags AS
SELECT 'ESC-' || t.escalation_id AS escalation_key, t.tag AS tag
FROM public.escalation_tags t;

-- The role analysts' queries log in as. Roles belong to the whole cluster:
-- the first Ombud database to migrate creates it, the others find it. An
-- Ombud user without CREATEROLE skips this; an operator creates the role
-- (docs/analytics.md) and grants what the last two lines grant.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ombud_analyst') THEN
        BEGIN
            CREATE ROLE ombud_analyst LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'role ombud_analyst not created: analysts'' SQL stays off until an operator creates it';
                RETURN;
        END;
    END IF;
    GRANT USAGE ON SCHEMA analytics TO ombud_analyst;
    GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO ombud_analyst;
END $$;
