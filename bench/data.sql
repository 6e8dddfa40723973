-- Benchmark data for `make bench` / `make bench-peer` (issue 5): one workspace, Bench
-- Studio, at a scale set by the psql variable `scale` (1.0 by default):
--
--   200 accounts, 2,000 external users (10 per account), 50 staff, 6 stages,
--   5,000 projects (25 per account, one in five a sub-project of the one before it),
--   5,000 budgets, 100,000 tasks (20 per project), 300,000 comments (3 per task),
--   20,000 invoices (100 per account) with 100,000 lines, 2,000 articles.
--
-- Deterministic: every id is bench.id('<entity>', n) and every "random" choice is
-- bench.rnd('<seed>'), a number in [0, 1) from md5, so two loads at the same scale are
-- identical row for row. Set-based INSERT … SELECT over generate_series only.
--
-- Visibility is real work: every external user holds the workspace role "Dashboard"
-- (exactly the dashboard's fields and relations), some also "Dashboard Plus", an
-- expired role or an inactive one (which must count for nothing); each is a member of
-- three projects (one of their account not shared with it, two of other accounts),
-- some with the project role "Reviewer"; 10 % of tasks and 15 % of comments are
-- internal; 5 % of projects are archived; a third of the projects are not shared with
-- their account; half the budgets have client access off; every 50th user has lost
-- portal access (they are never in the load rotation).
--
-- Users in the rotation: external users n = 1..N with n % 50 <> 0, e-mail
-- user<n>@bench.example, id bench.id('external_user', n); staff m = 1..50,
-- staff<m>@bench.example. `bench/run.py` mints their tokens.

\set ON_ERROR_STOP on
\if :{?scale}
\else
  \set scale 1.0
\endif

BEGIN;

-- Foreign-key triggers would run a lookup per inserted row (about a million of them):
-- a superuser loads with them off, and the checks at the end prove every reference.
SELECT rolsuper AS bench_superuser FROM pg_roles WHERE rolname = current_user \gset
\if :bench_superuser
  SET LOCAL session_replication_role = replica;
\endif

CREATE SCHEMA IF NOT EXISTS bench;
CREATE OR REPLACE FUNCTION bench.rnd(seed text) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ('x' || substr(md5(seed), 1, 13))::bit(52)::bigint / 4503599627370496.0 $$;
-- Ids shaped like UUIDv7 (docs/api.md#tokens: time-ordered): an entity prefix, then n, then
-- md5 bits; so ids sort in creation order and indexes fill in order while loading.
CREATE OR REPLACE FUNCTION bench.id(entity text, n bigint) RETURNS uuid
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (substr(md5(entity), 1, 4) || lpad(to_hex(n), 8, '0') || '7'
                || substr(md5(entity || ':' || n), 1, 3) || '8'
                || substr(md5(entity || ':' || n), 4, 15))::uuid $$;

-- The sizes, from the scale.
DROP TABLE IF EXISTS bench.size;
CREATE TABLE bench.size AS SELECT
  greatest(1, round(200 * :scale))::int AS accounts,
  50 AS staff,
  10 AS users_per_account,
  25 AS projects_per_account,
  20 AS tasks_per_project,
  3 AS comments_per_task,
  100 AS invoices_per_account,
  5 AS lines_per_invoice,
  greatest(1, round(2000 * :scale))::int AS articles;

TRUNCATE workspaces, staff_users, accounts, external_users, roles, role_grants, role_assignments,
  project_stages, projects, project_members, budgets, tasks, comments, invoices, invoice_lines,
  kb_articles CASCADE;

-- A bulk load, not changes: the portal-event triggers (one event and one NOTIFY per row)
-- stay quiet while the data goes in.
SET session_replication_role = replica;

INSERT INTO workspaces (id, name, created_at)
VALUES (bench.id('workspace', 1), 'Bench Studio', '2026-01-01 08:00:00+00');

INSERT INTO staff_users (id, workspace_id, email, name, is_admin)
SELECT bench.id('staff', m), bench.id('workspace', 1), 'staff' || m || '@bench.example',
       (ARRAY['Ada','Sam','Noor','Lena','Omar','Ines','Kofi','Mila','Ravi','Tess'])[1 + (m - 1) % 10]
         || ' ' || (ARRAY['Stone','Park','Berg','Diaz','Okafor'])[1 + (m - 1) / 10],
       m = 1
FROM bench.size, generate_series(1, staff) m;

INSERT INTO project_stages (id, workspace_id, name, position)
SELECT bench.id('stage', s), bench.id('workspace', 1),
       (ARRAY['Lead','Discovery','Design','Build','Review','Done'])[s], s
FROM generate_series(1, 6) s;

INSERT INTO accounts (id, workspace_id, name, email, phone, website, address, industry, description, owner_id)
SELECT bench.id('account', a), bench.id('workspace', 1),
       (ARRAY['Globex','Initech','Umbrella','Hooli','Vandelay','Stark','Wayne','Acme','Tyrell','Cyberdyne'])[1 + a % 10]
         || ' ' || lpad(a::text, 4, '0'),
       'office@account' || a || '.example', '+1 555 ' || lpad(a::text, 4, '0'),
       'https://account' || a || '.example', a || ' Main Street', 
       (ARRAY['Manufacturing','Software','Retail','Health','Finance'])[1 + a % 5],
       'Client account number ' || a || '.',
       bench.id('staff', 1 + floor(bench.rnd('account-owner:' || a) * staff)::int)
FROM bench.size, generate_series(1, accounts) a;

INSERT INTO external_users (id, workspace_id, account_id, email, name, portal_access, created_at)
SELECT bench.id('external_user', n), bench.id('workspace', 1),
       bench.id('account', 1 + (n - 1) / users_per_account),
       'user' || n || '@bench.example', 'Client ' || n, n % 50 <> 0,
       '2026-01-02 09:00:00+00'::timestamptz + n * interval '1 minute'
FROM bench.size, generate_series(1, accounts * users_per_account) n;

-- ---------------------------------------------------------------- roles
INSERT INTO roles (id, workspace_id, name, description, active, expires_at) VALUES
  (bench.id('role', 1), bench.id('workspace', 1), 'Dashboard', 'What the portal dashboard shows.', true, NULL),
  (bench.id('role', 2), bench.id('workspace', 1), 'Dashboard Plus', 'More project and task fields.', true, NULL),
  (bench.id('role', 3), bench.id('workspace', 1), 'Expired Extras', 'Expired: grants nothing.', true, '2025-01-01 00:00:00+00'),
  (bench.id('role', 4), bench.id('workspace', 1), 'Inactive Extras', 'Deactivated: grants nothing.', false, NULL),
  (bench.id('role', 5), bench.id('workspace', 1), 'Reviewer', 'Project role: progress and budgets.', true, NULL),
  (bench.id('role', 6), bench.id('workspace', 1), 'Observer', 'Project role: always-visible fields.', true, NULL);

INSERT INTO role_grants (role_id, module, fields, relations, actions, notifications) VALUES
  (bench.id('role', 1), 'projects', '{status}', '{stage,owner,budget,account,tasks}', '{}', '{}'),
  (bench.id('role', 1), 'tasks', '{status}', '{assignee,comments}', '{}', '{}'),
  (bench.id('role', 1), 'crm', '{}', '{}', '{}', '{}'),
  (bench.id('role', 2), 'projects', '{description,start_date,end_date}', '{parent,subprojects}', '{}', '{stage_changed}'),
  (bench.id('role', 2), 'tasks', '{priority,due_date}', '{project}', '{comment}', '{status_changed}'),
  (bench.id('role', 2), 'crm', '{email,phone,website}', '{owner}', '{}', '{}'),
  (bench.id('role', 2), 'invoices', '{status,issue_date,due_date,total,currency}', '{account,project,lines}', '{}', '{}'),
  (bench.id('role', 2), 'knowledge_base', '{body,category}', '{author}', '{}', '{}'),
  (bench.id('role', 3), 'projects', '{progress,description}', '{subprojects}', '{}', '{}'),
  (bench.id('role', 3), 'invoices', '{paid_amount}', '{}', '{}', '{}'),
  (bench.id('role', 4), 'tasks', '{estimated_hours,completed_at}', '{owner}', '{}', '{}'),
  (bench.id('role', 5), 'projects', '{progress}', '{budget}', '{}', '{}'),
  (bench.id('role', 5), 'tasks', '{estimated_hours,completed_at}', '{}', '{comment}', '{}'),
  (bench.id('role', 6), 'projects', '{}', '{}', '{}', '{}'),
  (bench.id('role', 6), 'tasks', '{}', '{}', '{}', '{}');

-- Everyone: Dashboard; every 3rd user Dashboard Plus; every 5th the expired role;
-- every 7th the inactive one.
INSERT INTO role_assignments (role_id, external_user_id)
SELECT bench.id('role', r), bench.id('external_user', n)
FROM bench.size, generate_series(1, accounts * users_per_account) n, generate_series(1, 4) r
WHERE r = 1 OR (r = 2 AND n % 3 = 0) OR (r = 3 AND n % 5 = 0) OR (r = 4 AND n % 7 = 0);

-- ---------------------------------------------------------------- projects
-- Project j belongs to account 1 + (j - 1) / 25; its index k = (j - 1) % 25 in the
-- account makes it a sub-project of j - 1 when k % 5 = 4 (the last one of each account,
-- k = 24, has its own organization). Two thirds are shared with the account, 5 % archived.
INSERT INTO projects (id, workspace_id, account_id, parent_id, name, description, status,
                      start_date, end_date, progress, stage_id, owner_id, own_organization,
                      shared_with_account, archived, created_at)
SELECT bench.id('project', j), bench.id('workspace', 1),
       bench.id('account', 1 + (j - 1) / projects_per_account),
       CASE WHEN (j - 1) % projects_per_account % 5 = 4 THEN bench.id('project', j - 1) END,
       (ARRAY['Website','Data','Mobile','Brand','Cloud','Billing','Portal','Search','Audit','Launch',
              'Support','Analytics'])[1 + floor(bench.rnd('project-word:' || j) * 12)::int]
         || ' ' || (ARRAY['Relaunch','Warehouse','App','Refresh','Migration','Rollout','Revamp','Review'])
              [1 + floor(bench.rnd('project-word2:' || j) * 8)::int]
         || ' ' || lpad(j::text, 5, '0'),
       'Description of project ' || j || '.',
       (ARRAY['ACTIVE','ACTIVE','ON_HOLD','COMPLETED'])[1 + floor(bench.rnd('project-status:' || j) * 4)::int],
       date '2026-01-01' + (j % 180), date '2026-07-01' + (j % 180),
       floor(bench.rnd('project-progress:' || j) * 101)::int,
       bench.id('stage', 1 + floor(bench.rnd('project-stage:' || j) * 6)::int),
       bench.id('staff', 1 + floor(bench.rnd('project-owner:' || j) * staff)::int),
       (j - 1) % projects_per_account % 5 = 4 AND (j - 1) % projects_per_account = 24,
       bench.rnd('project-shared:' || j) < 0.67,
       bench.rnd('project-archived:' || j) < 0.05,
       '2026-01-03 09:00:00+00'::timestamptz + j * interval '10 minutes'
FROM bench.size, generate_series(1, accounts * projects_per_account) j;

INSERT INTO budgets (project_id, amount_cents, spent_cents, currency, client_access)
SELECT bench.id('project', j), 100000 + floor(bench.rnd('budget:' || j) * 9900000)::bigint,
       floor(bench.rnd('budget-spent:' || j) * 100000)::bigint,
       (ARRAY['EUR','USD','GBP'])[1 + j % 3], bench.rnd('budget-access:' || j) < 0.5
FROM bench.size, generate_series(1, accounts * projects_per_account) j;

-- Memberships: user n joins (1) a project of their own account (whatever its sharing),
-- (2) and (3) projects of other accounts (partners' contacts). Every other membership
-- carries a project role: Reviewer or Observer.
INSERT INTO project_members (project_id, external_user_id, role_id)
SELECT bench.id('project', j), bench.id('external_user', n),
       CASE WHEN (n + i) % 2 = 0 THEN bench.id('role', 5 + (n + i) % 4 / 2) END
FROM bench.size, generate_series(1, accounts * users_per_account) n, generate_series(1, 3) i,
     LATERAL (SELECT CASE i
         WHEN 1 THEN ((n - 1) / users_per_account) * projects_per_account
                     + 1 + floor(bench.rnd('member:' || n || ':1') * projects_per_account)::int
         ELSE 1 + floor(bench.rnd('member:' || n || ':' || i) * accounts * projects_per_account)::int
       END AS j) pick
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------- tasks, comments
INSERT INTO tasks (id, workspace_id, project_id, title, description, status, priority, due_date,
                   estimated_hours, created_at, completed_at, assignee_id, owner_id, internal)
SELECT bench.id('task', i), bench.id('workspace', 1),
       bench.id('project', 1 + (i - 1) % (accounts * projects_per_account)),
       (ARRAY['Draft','Review','Fix','Write','Design','Test','Deploy','Plan'])[1 + i % 8]
         || ' item ' || i,
       'Details of task ' || i || '.',
       (ARRAY['OPEN','IN_PROGRESS','DONE','CANCELLED'])[1 + floor(bench.rnd('task-status:' || i) * 4)::int],
       (ARRAY['LOW','NORMAL','HIGH','URGENT'])[1 + floor(bench.rnd('task-priority:' || i) * 4)::int],
       date '2026-02-01' + (i % 300), 1 + (i % 40),
       '2026-01-04 09:00:00+00'::timestamptz + i * interval '1 minute',
       CASE WHEN i % 4 = 2 THEN '2026-03-01 09:00:00+00'::timestamptz + i * interval '1 minute' END,
       CASE WHEN bench.rnd('task-assignee:' || i) < 0.9
            THEN bench.id('staff', 1 + floor(bench.rnd('task-assignee-who:' || i) * staff)::int) END,
       bench.id('staff', 1 + floor(bench.rnd('task-owner:' || i) * staff)::int),
       bench.rnd('task-internal:' || i) < 0.10
FROM bench.size, generate_series(1, accounts * projects_per_account * tasks_per_project) i;

INSERT INTO comments (id, workspace_id, task_id, body, created_at, internal, author_staff_id, author_external_id)
SELECT bench.id('comment', c), bench.id('workspace', 1),
       bench.id('task', 1 + (c - 1) % (accounts * projects_per_account * tasks_per_project)),
       'Comment ' || c || ' on the task.',
       '2026-01-05 09:00:00+00'::timestamptz + c * interval '20 seconds',
       bench.rnd('comment-internal:' || c) < 0.15,
       CASE WHEN c % 3 <> 0 THEN bench.id('staff', 1 + floor(bench.rnd('comment-staff:' || c) * staff)::int) END,
       -- a contact of the task's project's account
       CASE WHEN c % 3 = 0 THEN bench.id('external_user',
            ((1 + (c - 1) % (accounts * projects_per_account * tasks_per_project) - 1)
              % (accounts * projects_per_account)) / projects_per_account * users_per_account
            + 1 + c % users_per_account) END
FROM bench.size,
     generate_series(1, accounts * projects_per_account * tasks_per_project * comments_per_task) c;

-- ---------------------------------------------------------------- invoices, articles
INSERT INTO invoices (id, workspace_id, account_id, project_id, number, kind, status, issue_date,
                      due_date, total_cents, currency, paid_cents, created_at)
SELECT bench.id('invoice', v), bench.id('workspace', 1),
       bench.id('account', 1 + (v - 1) / invoices_per_account),
       CASE WHEN v % 2 = 0 THEN bench.id('project',
            (v - 1) / invoices_per_account * projects_per_account + 1 + v % projects_per_account) END,
       CASE WHEN v % 5 = 0 THEN 'EST-' ELSE 'INV-' END || lpad(v::text, 6, '0'),
       CASE WHEN v % 5 = 0 THEN 'ESTIMATE' ELSE 'INVOICE' END,
       (ARRAY['DRAFT','SENT','ACCEPTED','PAID','OVERDUE','CANCELLED'])[1 + floor(bench.rnd('invoice-status:' || v) * 6)::int],
       date '2026-01-01' + (v % 365), date '2026-02-01' + (v % 365),
       50000 + floor(bench.rnd('invoice-total:' || v) * 5000000)::bigint, 'EUR',
       floor(bench.rnd('invoice-paid:' || v) * 50000)::bigint,
       '2026-01-06 09:00:00+00'::timestamptz + v * interval '5 minutes'
FROM bench.size, generate_series(1, accounts * invoices_per_account) v;

INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price_cents, amount_cents)
SELECT bench.id('invoice_line', l), bench.id('invoice', 1 + (l - 1) / lines_per_invoice),
       1 + (l - 1) % lines_per_invoice, 'Line ' || l, 1 + l % 4, 10000 + l % 900 * 100,
       (1 + l % 4) * (10000 + l % 900 * 100)
FROM bench.size, generate_series(1, accounts * invoices_per_account * lines_per_invoice) l;

INSERT INTO kb_articles (id, workspace_id, title, body, category, updated_at, author_id, published)
SELECT bench.id('article', k), bench.id('workspace', 1), 'Article ' || lpad(k::text, 5, '0'),
       'Body of article ' || k || '.', (ARRAY['Billing','Onboarding','How-to','FAQ'])[1 + k % 4],
       '2026-01-07 09:00:00+00'::timestamptz + k * interval '1 hour',
       bench.id('staff', 1 + k % staff), bench.rnd('article-published:' || k) < 0.8
FROM bench.size, generate_series(1, articles) k;

-- Every reference resolves (what the foreign keys would have checked row by row).
DO $$
DECLARE orphans bigint;
BEGIN
  SELECT (SELECT count(*) FROM accounts a LEFT JOIN staff_users s ON s.id = a.owner_id WHERE s.id IS NULL)
       + (SELECT count(*) FROM external_users u LEFT JOIN accounts a ON a.id = u.account_id WHERE a.id IS NULL)
       + (SELECT count(*) FROM role_assignments x LEFT JOIN roles r ON r.id = x.role_id
            LEFT JOIN external_users u ON u.id = x.external_user_id WHERE r.id IS NULL OR u.id IS NULL)
       + (SELECT count(*) FROM projects p LEFT JOIN accounts a ON a.id = p.account_id
            LEFT JOIN projects pp ON pp.id = p.parent_id LEFT JOIN project_stages s ON s.id = p.stage_id
            LEFT JOIN staff_users o ON o.id = p.owner_id
          WHERE a.id IS NULL OR (p.parent_id IS NOT NULL AND pp.id IS NULL) OR s.id IS NULL OR o.id IS NULL)
       + (SELECT count(*) FROM project_members m LEFT JOIN projects p ON p.id = m.project_id
            LEFT JOIN external_users u ON u.id = m.external_user_id LEFT JOIN roles r ON r.id = m.role_id
          WHERE p.id IS NULL OR u.id IS NULL OR (m.role_id IS NOT NULL AND r.id IS NULL))
       + (SELECT count(*) FROM budgets b LEFT JOIN projects p ON p.id = b.project_id WHERE p.id IS NULL)
       + (SELECT count(*) FROM tasks t LEFT JOIN projects p ON p.id = t.project_id
            LEFT JOIN staff_users a ON a.id = t.assignee_id LEFT JOIN staff_users o ON o.id = t.owner_id
          WHERE p.id IS NULL OR (t.assignee_id IS NOT NULL AND a.id IS NULL) OR o.id IS NULL)
       + (SELECT count(*) FROM comments c LEFT JOIN tasks t ON t.id = c.task_id
            LEFT JOIN staff_users s ON s.id = c.author_staff_id
            LEFT JOIN external_users u ON u.id = c.author_external_id
          WHERE t.id IS NULL OR (c.author_staff_id IS NOT NULL AND s.id IS NULL)
             OR (c.author_external_id IS NOT NULL AND u.id IS NULL))
       + (SELECT count(*) FROM invoices i LEFT JOIN accounts a ON a.id = i.account_id
            LEFT JOIN projects p ON p.id = i.project_id
          WHERE a.id IS NULL OR (i.project_id IS NOT NULL AND p.id IS NULL))
       + (SELECT count(*) FROM invoice_lines l LEFT JOIN invoices i ON i.id = l.invoice_id WHERE i.id IS NULL)
       + (SELECT count(*) FROM kb_articles k LEFT JOIN staff_users s ON s.id = k.author_id WHERE s.id IS NULL)
    INTO orphans;
  IF orphans > 0 THEN
    RAISE EXCEPTION 'bench data: % dangling references', orphans;
  END IF;
END $$;

COMMIT;

-- Statistics, and the visibility map for index-only scans (counts of comments).
VACUUM (ANALYZE);

RESET session_replication_role;
