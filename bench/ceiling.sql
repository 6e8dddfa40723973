-- The ceiling of `make bench-peer`: the portal dashboard of one external user as ONE
-- hand-written SQL statement (json_agg), run by pgbench at the same concurrency. It does
-- everything the gateway does for that request: checks the user (portal access), merges
-- their live roles (workspace roles ∪ the project role of each effective membership,
-- sub-projects inheriting their parent's organization), scopes projects and tasks
-- (docs/permissions.md#scope-which-records-exist), and hides fields and relations
-- (docs/permissions.md#hiding).
--
-- pgbench variables: `users` (how many external users rotate; -D users=N, where N is
-- the number of users with portal access = 49/50 of them), `n` a random one of them,
-- skipping every 50th (whose access is revoked).
\set k random(1, :users)
\set n :k + (:k - 1) / 49
WITH RECURSIVE
me AS MATERIALIZED (
  SELECT u.id, u.account_id, u.workspace_id, w.disabled_modules
  FROM external_users u JOIN workspaces w ON w.id = u.workspace_id
  WHERE u.id = bench.id('external_user', :n) AND u.portal_access
    AND (u.access_ends_at IS NULL OR u.access_ends_at > now())
),
org (project_id, role_id) AS (
    SELECT pm.project_id, pm.role_id FROM me
    JOIN project_members pm ON pm.external_user_id = me.id
    JOIN projects p ON p.id = pm.project_id
    WHERE p.workspace_id = me.workspace_id AND (p.parent_id IS NULL OR p.own_organization)
  UNION ALL
    SELECT c.id, org.role_id FROM projects c JOIN org ON c.parent_id = org.project_id
    WHERE NOT c.own_organization
),
held AS (
    SELECT NULL::uuid AS project_id, ra.role_id FROM me
    JOIN role_assignments ra ON ra.external_user_id = me.id
  UNION ALL
    SELECT project_id, role_id FROM org
),
-- Every live grant as a name: 'tasks', 'tasks.fields.status', 'tasks.relations.assignee'.
live AS MATERIALIZED (
  SELECT h.project_id, n.name FROM held h
  CROSS JOIN me
  JOIN roles r ON r.id = h.role_id AND r.workspace_id = me.workspace_id AND r.active
       AND (r.expires_at IS NULL OR r.expires_at > now())
  JOIN role_grants g ON g.role_id = r.id AND NOT g.module = ANY (me.disabled_modules)
  CROSS JOIN LATERAL (
      SELECT g.module
      UNION ALL SELECT g.module || '.fields.' || f FROM unnest(g.fields) f
      UNION ALL SELECT g.module || '.relations.' || x FROM unnest(g.relations) x) n(name)
),
ws AS MATERIALIZED (SELECT coalesce(array_agg(name), '{}') AS g FROM live WHERE project_id IS NULL),
-- Projects in scope, with the grants merged for each (workspace ∪ project role).
visible AS MATERIALIZED (
  SELECT p.id, p.name, p.status, p.stage_id, p.owner_id, p.account_id,
         ws.g || coalesce((SELECT array_agg(l.name) FROM live l WHERE l.project_id = p.id), '{}') AS g
  FROM me CROSS JOIN ws
  JOIN projects p ON p.workspace_id = me.workspace_id AND NOT p.archived
  WHERE (p.id IN (SELECT project_id FROM org)
         OR (p.account_id = me.account_id AND p.shared_with_account AND 'projects' = ANY (ws.g)))
    AND 'projects' = ANY (ws.g || coalesce((SELECT array_agg(l.name) FROM live l WHERE l.project_id = p.id), '{}'))
  ORDER BY p.name, p.id
  LIMIT 20
)
SELECT json_build_object('data', json_build_object('projects', json_build_object('nodes',
  coalesce(json_agg(json_build_object(
    'name', v.name,
    'status', CASE WHEN 'projects.fields.status' = ANY (v.g) THEN v.status END,
    'stage', CASE WHEN 'projects.relations.stage' = ANY (v.g) THEN
        (SELECT json_build_object('name', s.name) FROM project_stages s WHERE s.id = v.stage_id) END,
    'owner', CASE WHEN 'projects.relations.owner' = ANY (v.g) THEN
        (SELECT json_build_object('name', u.name) FROM staff_users u WHERE u.id = v.owner_id) END,
    'budget', CASE WHEN 'projects.relations.budget' = ANY (v.g) THEN
        (SELECT json_build_object('amount', b.amount_cents / 100.0, 'currency', b.currency)
         FROM budgets b WHERE b.project_id = v.id AND b.client_access) END,
    'account', CASE WHEN 'projects.relations.account' = ANY (v.g) AND 'crm' = ANY (ws.g) THEN
        (SELECT json_build_object('name', a.name) FROM accounts a
         WHERE a.id = v.account_id AND a.id = me.account_id) END,
    'tasks', json_build_object('nodes', CASE
      WHEN 'projects.relations.tasks' = ANY (v.g) AND 'tasks' = ANY (v.g) THEN
        (SELECT coalesce(json_agg(json_build_object(
            'title', t.title,
            'status', CASE WHEN 'tasks.fields.status' = ANY (v.g) THEN t.status END,
            'assignee', CASE WHEN 'tasks.relations.assignee' = ANY (v.g) THEN
                (SELECT json_build_object('name', u.name) FROM staff_users u WHERE u.id = t.assignee_id) END,
            'comments', json_build_object('totalCount', CASE
                WHEN 'tasks.relations.comments' = ANY (v.g) THEN
                  (SELECT count(*) FROM comments c WHERE c.task_id = t.id AND NOT c.internal)
                ELSE 0 END)
          ) ORDER BY t.id), '[]')
         FROM (SELECT * FROM tasks t WHERE t.project_id = v.id AND NOT t.internal
               ORDER BY t.id LIMIT 10) t)
      ELSE '[]' END)
  ) ORDER BY v.name, v.id) FILTER (WHERE v.id IS NOT NULL), '[]'))))
FROM me CROSS JOIN ws LEFT JOIN visible v ON true;
