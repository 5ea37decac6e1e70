-- The transaction of POST /api/v1/tickets on PostgreSQL, statement for statement
-- (tenants/src/tickets.rs create_ticket, with the SLA recompute, the outbox event,
-- the SLA check job and the work index), for pgbench against the data set the
-- tickets benchmark keeps (database portico_bench_tickets, tenant schema tenant_1).
-- Run: core/benches/pgbench/run.sh
\set requester random(:first_contact, :last_contact)
\set shard random(0, 7)
BEGIN;
SELECT set_config('search_path', 'tenant_1', true);
SELECT key, label, kind, options, required, portal FROM ticket_fields ORDER BY position, id;
SELECT nextval('ticket_numbers') AS number \gset
SELECT id AS status_id FROM ticket_statuses WHERE key = 'new' \gset
SELECT organization_id AS org FROM users WHERE id = :requester \gset
INSERT INTO tickets (number, subject, description, status_id, status_class, priority, type_key, requester_id, organization_id, device_id, source, language, fields, created_at, updated_at)
    VALUES (:number, 'Printer not working since this morning', 'The printer on the second floor is not working since this morning, please help: the error message shows again after a restart and the colleague reports the same problem with srv-4711 and 0x1f2e.', :status_id, 'new', 'medium', NULL, :requester, :org, NULL, 'api', 'en', '{}', (extract(epoch from now()) * 1000)::bigint, (extract(epoch from now()) * 1000)::bigint) RETURNING id AS ticket_id \gset
INSERT INTO ticket_messages (ticket_id, author_id, internal, body, source, created_at, email_message_id, language)
    VALUES (:ticket_id, :requester, 0, 'The printer on the second floor is not working since this morning, please help: the error message shows again after a restart and the colleague reports the same problem with srv-4711 and 0x1f2e.', 'api', (extract(epoch from now()) * 1000)::bigint, NULL, 'en') RETURNING id AS message_id \gset
UPDATE ticket_messages SET search = to_tsvector(CAST('english' AS regconfig), 'Printer not working since this morning
The printer on the second floor is not working since this morning, please help: the error message shows again after a restart and the colleague reports the same problem with srv-4711 and 0x1f2e.') || to_tsvector('simple', 'Printer not working since this morning
The printer on the second floor is not working since this morning, please help: the error message shows again after a restart and the colleague reports the same problem with srv-4711 and 0x1f2e.') WHERE id = :message_id;
INSERT INTO ticket_status_history (ticket_id, status_id, class, pauses_sla, at, actor) VALUES (:ticket_id, :status_id, 'new', 0, (extract(epoch from now()) * 1000)::bigint, 'user:' || CAST(:requester AS text));
INSERT INTO ticket_counts (scope, scope_id, status_class, shard, n) VALUES ('all', 0, 'new', :shard, 1), ('requester', :requester, 'new', :shard, 1), ('organization', :org, 'new', :shard, 1)
    ON CONFLICT (scope, scope_id, status_class, shard) DO UPDATE SET n = ticket_counts.n + excluded.n;
SELECT number, created_at, priority, organization_id, first_response_at, sla_state, level FROM tickets WHERE id = :ticket_id;
SELECT p.targets, p.warning_percent, c.definition FROM organizations o JOIN sla_policies p ON p.id = o.sla_policy_id LEFT JOIN sla_calendars c ON c.id = p.calendar_id WHERE o.id = :org;
SELECT at, pauses_sla, class FROM ticket_status_history WHERE ticket_id = :ticket_id ORDER BY id;
UPDATE tickets SET sla_state = 'ok', first_response_due_at = (extract(epoch from now()) * 1000)::bigint + 14400000, resolution_due_at = (extract(epoch from now()) * 1000)::bigint + 86400000, sla_breached_at = NULL WHERE id = :ticket_id;
INSERT INTO jobs (kind, payload, dedup_key, state, run_at, attempts, max_attempts, created_at)
    VALUES ('ticket.sla_check', '{"ticket_id":' || CAST(:ticket_id AS text) || '}', 'sla:' || CAST(:ticket_id AS text) || ':' || (extract(epoch from now()) * 1000)::bigint, 'pending', (extract(epoch from now()) * 1000)::bigint + 11520000, 0, 20, (extract(epoch from now()) * 1000)::bigint)
    ON CONFLICT (dedup_key) DO NOTHING RETURNING id;
INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload, created_at)
    VALUES ('ticket', CAST(:number AS text), 'ticket.created', '{"number":' || CAST(:number AS text) || ',"subject":"Printer not working since this morning","priority":"medium","type":null,"requester_id":' || CAST(:requester AS text) || ',"organization_id":' || CAST(:org AS text) || ',"source":"api","tags":[]}', (extract(epoch from now()) * 1000)::bigint) RETURNING id;
INSERT INTO platform.work_index (tenant_id, due_at, generation) VALUES (1, (extract(epoch from now()) * 1000)::bigint, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET due_at = LEAST(platform.work_index.due_at, excluded.due_at), generation = platform.work_index.generation + 1;
SELECT pg_notify('portico_work', '');
COMMIT;
