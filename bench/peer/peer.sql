-- The peer of `make bench-peer`: what a team would build with PostGraphile v5 and plain
-- PostgreSQL for the same visibility rules (docs/permissions.md), over the same tables.
--
--   * Scope (docs/permissions.md#scope-which-records-exist) is row-level security on the base tables, as the role
--     `portal_peer` that PostGraphile switches to (pgSettings `role`) per request.
--   * Field hiding (docs/permissions.md#hiding) is the closest plain PostgreSQL allows: security-barrier,
--     security-invoker views in schema `portal` (the only schema PostGraphile serves)
--     whose grantable columns are CASE expressions over the caller's merged grants.
--   * The caller comes from the JWT claims, which the server puts into
--     `jwt.claims.sub|kind|ws` (pgSettings). Every function that reads them is called
--     as `(SELECT peer.f())`, an InitPlan evaluated once per statement, not per row.
--
-- What RLS and views cannot express, and where this peer therefore differs from the
-- gateway, is listed in BENCHMARKS.md ("What RLS cannot express").

\set ON_ERROR_STOP on

BEGIN;

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal_peer') THEN
    CREATE ROLE portal_peer NOLOGIN NOBYPASSRLS;
  END IF;
END $$;
GRANT portal_peer TO current_user;

DROP SCHEMA IF EXISTS portal CASCADE;
DROP SCHEMA IF EXISTS peer CASCADE;
CREATE SCHEMA peer;
CREATE SCHEMA portal;

-- ---------------------------------------------------------------- the caller
-- SECURITY DEFINER: they read users, roles and memberships, which portal_peer cannot.

CREATE FUNCTION peer.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('jwt.claims.sub', true), '')::uuid $$;

CREATE FUNCTION peer.ws() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('jwt.claims.ws', true), '')::uuid $$;

-- A staff user of the claimed workspace.
CREATE FUNCTION peer.is_staff() RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public AS $$
  SELECT current_setting('jwt.claims.kind', true) = 'staff'
     AND EXISTS (SELECT 1 FROM staff_users s WHERE s.id = peer.uid() AND s.workspace_id = peer.ws()) $$;

-- The external caller's account, if they are a live external user of the workspace
-- with portal access (revocation holds on the next request).
CREATE FUNCTION peer.account() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public AS $$
  SELECT u.account_id FROM external_users u
  WHERE current_setting('jwt.claims.kind', true) = 'external'
    AND u.id = peer.uid() AND u.workspace_id = peer.ws() AND u.portal_access
    AND (u.access_ends_at IS NULL OR u.access_ends_at > now()) $$;

-- Every grant of one live role row as names: 'tasks' (the module is named),
-- 'tasks.fields.status', 'tasks.relations.assignee', …; switched-off modules are inert.
CREATE FUNCTION peer.grant_names(g role_grants, disabled text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = public AS $$
  SELECT CASE WHEN g.module = ANY(disabled) THEN '{}'::text[] ELSE
    ARRAY[g.module]
    || ARRAY(SELECT g.module || '.fields.' || f FROM unnest(g.fields) f)
    || ARRAY(SELECT g.module || '.relations.' || r FROM unnest(g.relations) r) END $$;

-- The caller's effective memberships (docs/permissions.md#project-organizations: a
-- sub-project uses its parent's organization, recursively, until it has its own) with their
-- project roles.
CREATE FUNCTION peer.memberships() RETURNS TABLE (project_id uuid, role_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  WITH RECURSIVE org(project_id, role_id) AS (
      SELECT pm.project_id, pm.role_id FROM project_members pm
      JOIN projects p ON p.id = pm.project_id
      WHERE pm.external_user_id = peer.uid() AND p.workspace_id = peer.ws()
        AND (p.parent_id IS NULL OR p.own_organization) AND peer.account() IS NOT NULL
    UNION ALL
      SELECT c.id, org.role_id FROM projects c JOIN org ON c.parent_id = org.project_id
      WHERE NOT c.own_organization)
  SELECT project_id, role_id FROM org $$;

-- Merged workspace-wide grants of the external caller: the union over their active,
-- unexpired workspace roles.
CREATE FUNCTION peer.ws_grants() RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public AS $$
  SELECT coalesce(array_agg(DISTINCT n), '{}') FROM role_assignments ra
  JOIN roles r ON r.id = ra.role_id AND r.workspace_id = peer.ws()
       AND r.active AND (r.expires_at IS NULL OR r.expires_at > now())
  JOIN role_grants g ON g.role_id = r.id
  CROSS JOIN LATERAL unnest(peer.grant_names(g, (SELECT disabled_modules FROM workspaces WHERE id = peer.ws()))) n
  WHERE ra.external_user_id = peer.uid() AND peer.account() IS NOT NULL $$;

-- The grants of the caller's project roles, per effective membership:
-- {"<project id>": ["tasks", "tasks.fields.estimated_hours", …]} (a membership
-- without a live role maps to []).
CREATE FUNCTION peer.project_grants() RETURNS jsonb LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public AS $$
  SELECT coalesce(jsonb_object_agg(project_id, names), '{}') FROM (
    SELECT m.project_id, coalesce(jsonb_agg(DISTINCT n) FILTER (WHERE n IS NOT NULL), '[]') AS names
    FROM peer.memberships() m
    LEFT JOIN roles r ON r.id = m.role_id AND r.active AND (r.expires_at IS NULL OR r.expires_at > now())
    LEFT JOIN role_grants g ON g.role_id = r.id
    LEFT JOIN LATERAL unnest(peer.grant_names(g, (SELECT disabled_modules FROM workspaces WHERE id = peer.ws()))) n ON true
    GROUP BY m.project_id) per_project $$;

-- Projects in the caller's scope whose merged grants name `module`
-- (docs/permissions.md#merging-grants, #scope-which-records-exist): their effective
-- memberships, and their account's shared projects when a workspace role names the module;
-- never archived ones.
CREATE FUNCTION peer.scope(module text) RETURNS uuid[] LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public AS $$
  WITH me AS MATERIALIZED (
    SELECT peer.account() AS account, peer.ws() AS ws, peer.ws_grants() AS wg, peer.project_grants() AS pg)
  SELECT coalesce(array_agg(DISTINCT id), '{}') FROM (
      SELECT p.id FROM me, projects p
      WHERE me.account IS NOT NULL AND p.id = ANY (ARRAY(SELECT jsonb_object_keys(me.pg)::uuid))
        AND p.workspace_id = me.ws AND NOT p.archived
        AND (module = ANY (me.wg) OR (me.pg -> p.id::text) ? module)
    UNION ALL
      SELECT p.id FROM me, projects p
      WHERE p.account_id = me.account AND p.shared_with_account AND NOT p.archived
        AND p.workspace_id = me.ws AND module = ANY (me.wg)) in_scope $$;

-- Whether a grant applies to a record of `project` (inlined: no sub-selects inside, the
-- callers pass the InitPlans).
CREATE FUNCTION peer.allows(staff boolean, ws text[], pg jsonb, project uuid, grant_name text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT staff OR grant_name = ANY(ws) OR coalesce((pg -> project::text) ? grant_name, false) $$;

GRANT USAGE ON SCHEMA peer, portal TO portal_peer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA peer TO portal_peer;

-- ---------------------------------------------------------------- row-level security
-- Scope only; the views below hide fields. Staff see their whole workspace.

GRANT USAGE ON SCHEMA public TO portal_peer;
GRANT SELECT ON projects, budgets, tasks, comments, accounts, staff_users, project_stages TO portal_peer;

ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS peer_scope ON projects;
CREATE POLICY peer_scope ON projects FOR SELECT TO portal_peer USING (
  workspace_id = (SELECT peer.ws())
  AND ((SELECT peer.is_staff()) OR id = ANY ((SELECT peer.scope('projects'))::uuid[])));

ALTER TABLE budgets ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS peer_scope ON budgets;
CREATE POLICY peer_scope ON budgets FOR SELECT TO portal_peer USING (
  (SELECT peer.is_staff()) OR project_id = ANY ((SELECT peer.scope('projects'))::uuid[]));

ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS peer_scope ON tasks;
CREATE POLICY peer_scope ON tasks FOR SELECT TO portal_peer USING (
  workspace_id = (SELECT peer.ws())
  AND ((SELECT peer.is_staff()) OR (NOT internal AND project_id = ANY ((SELECT peer.scope('tasks'))::uuid[]))));

-- Non-internal comments of tasks in scope (the tasks policy applies inside).
ALTER TABLE comments ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS peer_scope ON comments;
CREATE POLICY peer_scope ON comments FOR SELECT TO portal_peer USING (
  workspace_id = (SELECT peer.ws())
  AND ((SELECT peer.is_staff()) OR (NOT internal AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = task_id))));

-- The caller's own account, when a workspace role names `crm`.
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS peer_scope ON accounts;
CREATE POLICY peer_scope ON accounts FOR SELECT TO portal_peer USING (
  workspace_id = (SELECT peer.ws())
  AND ((SELECT peer.is_staff()) OR (id = (SELECT peer.account()) AND 'crm' = ANY ((SELECT peer.ws_grants())::text[]))));

ALTER TABLE staff_users ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS peer_scope ON staff_users;
CREATE POLICY peer_scope ON staff_users FOR SELECT TO portal_peer USING (
  workspace_id = (SELECT peer.ws()) AND ((SELECT peer.is_staff()) OR (SELECT peer.account()) IS NOT NULL));

ALTER TABLE project_stages ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS peer_scope ON project_stages;
CREATE POLICY peer_scope ON project_stages FOR SELECT TO portal_peer USING (
  workspace_id = (SELECT peer.ws()) AND ((SELECT peer.is_staff()) OR (SELECT peer.account()) IS NOT NULL));

-- ---------------------------------------------------------------- field hiding
-- A grantable column is `CASE WHEN peer.allows(…) THEN col END`; a single relation is
-- its foreign key nulled the same way; staff-only columns are CASE over is_staff().

CREATE VIEW portal.projects WITH (security_barrier, security_invoker) AS
SELECT p.id, p.name,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), p.id, 'projects.fields.description') THEN p.description END AS description,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), p.id, 'projects.fields.status') THEN p.status END AS status,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), p.id, 'projects.fields.start_date') THEN p.start_date END AS start_date,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), p.id, 'projects.fields.end_date') THEN p.end_date END AS end_date,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), p.id, 'projects.fields.progress') THEN p.progress END AS progress,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), p.id, 'projects.relations.stage') THEN p.stage_id END AS stage_id,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), p.id, 'projects.relations.owner') THEN p.owner_id END AS owner_id,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), p.id, 'projects.relations.account') THEN p.account_id END AS account_id,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), p.id, 'projects.relations.parent') THEN p.parent_id END AS parent_id,
  CASE WHEN (SELECT peer.is_staff()) THEN p.archived END AS archived,
  CASE WHEN (SELECT peer.is_staff()) THEN p.shared_with_account END AS shared_with_account,
  CASE WHEN (SELECT peer.is_staff()) THEN p.own_organization END AS own_organization
FROM public.projects p;

-- A budget shows when the relation is granted and its client access is on (staff: always).
CREATE VIEW portal.budgets WITH (security_barrier, security_invoker) AS
SELECT b.project_id, (b.amount_cents / 100.0)::float8 AS amount, (b.spent_cents / 100.0)::float8 AS spent,
  b.currency, CASE WHEN (SELECT peer.is_staff()) THEN b.client_access END AS client_access
FROM public.budgets b
WHERE (b.client_access OR (SELECT peer.is_staff()))
  AND peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), b.project_id, 'projects.relations.budget');

-- Tasks reachable through `Project.tasks` (RLS cannot tell one path from another, so
-- the relation gate is a row filter for every path).
CREATE VIEW portal.tasks WITH (security_barrier, security_invoker) AS
SELECT t.id, t.project_id, t.title,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.fields.description') THEN t.description END AS description,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.fields.status') THEN t.status END AS status,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.fields.priority') THEN t.priority END AS priority,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.fields.due_date') THEN t.due_date END AS due_date,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.fields.estimated_hours') THEN t.estimated_hours END AS estimated_hours,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.fields.created_at') THEN t.created_at END AS created_at,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.fields.completed_at') THEN t.completed_at END AS completed_at,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.relations.assignee') THEN t.assignee_id END AS assignee_id,
  CASE WHEN peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.relations.owner') THEN t.owner_id END AS owner_id,
  CASE WHEN (SELECT peer.is_staff()) THEN t.internal END AS internal
FROM public.tasks t
WHERE peer.allows((SELECT peer.is_staff()), (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'projects.relations.tasks');

-- Comments through `Task.comments` (the relation gate as a row filter, as above).
CREATE VIEW portal.comments WITH (security_barrier, security_invoker) AS
SELECT c.id, c.task_id, c.body, c.created_at, c.author_staff_id,
  CASE WHEN (SELECT peer.is_staff()) THEN c.internal END AS internal
FROM public.comments c
WHERE (SELECT peer.is_staff()) OR EXISTS (
  SELECT 1 FROM public.tasks t WHERE t.id = c.task_id
    AND peer.allows(false, (SELECT peer.ws_grants()), (SELECT peer.project_grants()), t.project_id, 'tasks.relations.comments'));

CREATE VIEW portal.accounts WITH (security_barrier, security_invoker) AS
SELECT a.id, a.name FROM public.accounts a;

-- Staff users as relation targets: id and name; e-mail for staff callers only.
CREATE VIEW portal.users WITH (security_barrier, security_invoker) AS
SELECT s.id, s.name, CASE WHEN (SELECT peer.is_staff()) THEN s.email END AS email
FROM public.staff_users s;

CREATE VIEW portal.project_stages WITH (security_barrier, security_invoker) AS
SELECT s.id, s.name, s.position FROM public.project_stages s;

GRANT SELECT ON ALL TABLES IN SCHEMA portal TO portal_peer;

-- PostGraphile smart tags: keys and relations of the views, named like the gateway's
-- fields; only the root list of projects is a query field.
COMMENT ON VIEW portal.projects IS E'@primaryKey id\n@foreignKey (stage_id) references portal.project_stages (id)|@fieldName stage|@behavior -many\n@foreignKey (owner_id) references portal.users (id)|@fieldName owner|@behavior -many\n@foreignKey (account_id) references portal.accounts (id)|@fieldName account|@behavior -many\n@foreignKey (parent_id) references portal.projects (id)|@fieldName parent|@foreignFieldName subprojects\n@name projects\n@behavior -insert -update -delete';
COMMENT ON VIEW portal.budgets IS E'@primaryKey project_id\n@foreignKey (project_id) references portal.projects (id)|@fieldName project|@foreignFieldName budget\n@behavior -insert -update -delete -query:resource:list -query:resource:connection';
COMMENT ON VIEW portal.tasks IS E'@primaryKey id\n@foreignKey (project_id) references portal.projects (id)|@fieldName project|@foreignFieldName tasks\n@foreignKey (assignee_id) references portal.users (id)|@fieldName assignee|@behavior -many\n@foreignKey (owner_id) references portal.users (id)|@fieldName owner|@behavior -many\n@behavior -insert -update -delete -query:resource:list -query:resource:connection';
COMMENT ON VIEW portal.comments IS E'@primaryKey id\n@foreignKey (task_id) references portal.tasks (id)|@fieldName task|@foreignFieldName comments\n@foreignKey (author_staff_id) references portal.users (id)|@fieldName author|@behavior -many\n@behavior -insert -update -delete -query:resource:list -query:resource:connection';
COMMENT ON VIEW portal.accounts IS E'@primaryKey id\n@behavior -insert -update -delete -query:resource:list -query:resource:connection';
COMMENT ON VIEW portal.users IS E'@primaryKey id\n@behavior -insert -update -delete -query:resource:list -query:resource:connection';
COMMENT ON VIEW portal.project_stages IS E'@primaryKey id\n@behavior -insert -update -delete -query:resource:list -query:resource:connection';

COMMIT;
