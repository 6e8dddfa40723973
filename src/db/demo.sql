-- Demo data for `portal-gateway seed demo` (docs/operations.md). Plain SQL, run as one
-- transaction; re-running it replaces both demo workspaces with a fresh copy.
--
-- Fixed ids look like UUIDv7: 01900000-00EE-7000-8000-000000000WNN
--   EE = entity: 01 workspace, 02 staff, 03 account, 04 external user, 05 role,
--        06 stage, 07 project, 08 task, 09 comment, 0a invoice, 0b invoice line,
--        0c kb article
--   W  = workspace (1 Acme Studio, 2 Umbrella Corp); NN = sequence (00 = the workspace).
-- All timestamps are fixed (2026); ids sort in creation order.
--
-- Personas (workspace Acme Studio, all modules on):
--   Ada   ada@acme.example      admin staff: everything in Acme, admin API, preview.
--   Sam   sam@acme.example      staff: everything in Acme, no admin API.
--   Greta greta@globex.example  Globex; roles Clients (+ Expired Extras, Inactive Extras,
--         which must have NO effect); member of Data Warehouse as Project Reviewer,
--         hence effective member of Data Warehouse: ETL (inherits the organization).
--         Projects: Website Relaunch (shared), Data Warehouse, Data Warehouse: ETL.
--         Not: Content Migration / Mobile App (not shared, not a member), Globex
--         Internal Audit, Legacy Portal (archived), anything of Initech.
--         Invoices: INV-2026-001, INV-2026-002, EST-2026-001 (never the draft INV-2026-003).
--         Project Reviewer adds progress, budget, estimatedHours, completedAt, the
--         comment action and paidAmount only on Data Warehouse(+ETL) records, i.e. also
--         on INV-2026-002 and EST-2026-001 (project = Data Warehouse), never on
--         INV-2026-001. The DW budget has clientAccess off, so budget stays null.
--   Frank frank@globex.example  Globex; roles Clients + Freelancers (may create tasks and
--         comment); member of Website Relaunch: Mobile App as Project Reviewer.
--         Projects: Website Relaunch, Website Relaunch: Mobile App. Same invoices as Greta.
--   Ivan  ivan@initech.example  Initech; role Initech Portal. Projects: TPS Reports only.
--         Invoices: INV-2026-004, EST-2026-002.
--   Rita  rita@globex.example   Globex; role Clients but portal access revoked:
--         UNAUTHENTICATED.
--   KB for every external user: the 3 published articles, never "Upcoming pricing".
--   Internal tasks/comments are never visible to externals.
-- Roles "Project Reviewer" and "Module Sampler" are assigned to nobody workspace-wide.
--
-- Workspace Umbrella Corp (cross-workspace isolation): staff Umbra
-- (umbra@umbrella.example, admin), account Umbrella Pharma, external user Uma
-- (uma@umbrella.example, role "Clients" of Umbrella — same name as Acme's role on
-- purpose), one project, task, comment, invoice (number INV-2026-001, same as Acme's
-- on purpose), article. Nothing of one workspace may ever show up in the other.

DELETE FROM workspaces WHERE id = '01900000-0001-7000-8000-000000000100';
DELETE FROM workspaces WHERE id = '01900000-0001-7000-8000-000000000200';

-- ---------------------------------------------------------------- workspaces
INSERT INTO workspaces (id, name, disabled_modules, created_at) VALUES
  ('01900000-0001-7000-8000-000000000100', 'Acme Studio',   '{}', '2026-01-05 09:00:00+00'),
  ('01900000-0001-7000-8000-000000000200', 'Umbrella Corp', '{}', '2026-01-05 09:30:00+00');

-- ---------------------------------------------------------------- staff
INSERT INTO staff_users (id, workspace_id, email, name, is_admin) VALUES
  ('01900000-0002-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100', 'ada@acme.example',       'Ada',   true),
  ('01900000-0002-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100', 'sam@acme.example',       'Sam',   false),
  ('01900000-0002-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200', 'umbra@umbrella.example', 'Umbra', true);

-- ---------------------------------------------------------------- CRM accounts
INSERT INTO accounts (id, workspace_id, name, email, phone, website, address, industry, description, owner_id) VALUES
  ('01900000-0003-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100',
   'Globex', 'hello@globex.example', '+1 555 0100', 'https://globex.example',
   '1 Globex Way, Cypress Creek', 'Manufacturing',
   'Long-standing client: website relaunch and data warehouse.',
   '01900000-0002-7000-8000-000000000102'),
  ('01900000-0003-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100',
   'Initech', 'office@initech.example', '+1 555 0200', 'https://initech.example',
   '4120 Freidrich Lane, Austin', 'Software',
   'Reporting and process automation client.',
   '01900000-0002-7000-8000-000000000101'),
  ('01900000-0003-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200',
   'Umbrella Pharma', 'contact@umbrella.example', '+1 555 0300', 'https://umbrella.example',
   '1 Hive Road, Raccoon City', 'Pharmaceuticals',
   'Umbrella Corp''s only client account.',
   '01900000-0002-7000-8000-000000000201');

-- ---------------------------------------------------------------- external users
INSERT INTO external_users (id, workspace_id, account_id, email, name, portal_access, created_at) VALUES
  ('01900000-0004-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000101', 'greta@globex.example', 'Greta', true,  '2026-01-06 10:00:00+00'),
  ('01900000-0004-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000101', 'frank@globex.example', 'Frank', true,  '2026-01-06 10:05:00+00'),
  ('01900000-0004-7000-8000-000000000103', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000102', 'ivan@initech.example', 'Ivan',  true,  '2026-01-06 10:10:00+00'),
  ('01900000-0004-7000-8000-000000000104', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000101', 'rita@globex.example',  'Rita',  false, '2026-01-06 10:15:00+00'),
  ('01900000-0004-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200', '01900000-0003-7000-8000-000000000201', 'uma@umbrella.example', 'Uma',   true,  '2026-01-06 11:00:00+00');

-- ---------------------------------------------------------------- roles
INSERT INTO roles (id, workspace_id, name, description, active, expires_at, created_at) VALUES
  ('01900000-0005-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100', 'Clients',
   'Standard client contacts.', true, NULL, '2026-01-05 12:00:00+00'),
  ('01900000-0005-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100', 'Freelancers',
   'Contacts who work on tasks: may create tasks and comment.', true, NULL, '2026-01-05 12:01:00+00'),
  ('01900000-0005-7000-8000-000000000103', '01900000-0001-7000-8000-000000000100', 'Initech Portal',
   'Reduced view for Initech contacts.', true, NULL, '2026-01-05 12:02:00+00'),
  ('01900000-0005-7000-8000-000000000104', '01900000-0001-7000-8000-000000000100', 'Expired Extras',
   'Expired on 2025-01-01: must grant nothing.', true, '2025-01-01 00:00:00+00', '2026-01-05 12:03:00+00'),
  ('01900000-0005-7000-8000-000000000105', '01900000-0001-7000-8000-000000000100', 'Inactive Extras',
   'Deactivated: must grant nothing.', false, NULL, '2026-01-05 12:04:00+00'),
  ('01900000-0005-7000-8000-000000000106', '01900000-0001-7000-8000-000000000100', 'Project Reviewer',
   'Project-specific role for reviewers of one project.', true, NULL, '2026-01-05 12:05:00+00'),
  ('01900000-0005-7000-8000-000000000107', '01900000-0001-7000-8000-000000000100', 'Module Sampler',
   'Names every module with empty lists: always-visible fields only.', true, NULL, '2026-01-05 12:06:00+00'),
  ('01900000-0005-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200', 'Clients',
   'Umbrella''s client contacts (same name as Acme''s role, other workspace).', true, NULL, '2026-01-05 12:30:00+00');

INSERT INTO role_grants (role_id, module, fields, relations, actions, notifications) VALUES
  -- Clients
  ('01900000-0005-7000-8000-000000000101', 'crm',
   '{email,phone,website}', '{owner}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000101', 'projects',
   '{description,status,start_date,end_date}', '{stage,owner,account,parent,subprojects,tasks}', '{}', '{stage_changed}'),
  ('01900000-0005-7000-8000-000000000101', 'tasks',
   '{description,status,priority,due_date}', '{assignee,project,comments}', '{}', '{status_changed}'),
  ('01900000-0005-7000-8000-000000000101', 'knowledge_base',
   '{body,category}', '{author}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000101', 'invoices',
   '{status,issue_date,due_date,total,currency}', '{account,project,lines}', '{accept_estimate}', '{issued}'),
  -- Freelancers
  ('01900000-0005-7000-8000-000000000102', 'projects',
   '{progress}', '{budget}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000102', 'tasks',
   '{estimated_hours,created_at}', '{owner}', '{create,comment}', '{created,comment_added}'),
  -- Initech Portal
  ('01900000-0005-7000-8000-000000000103', 'crm',
   '{email,phone}', '{}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000103', 'projects',
   '{status}', '{stage,tasks}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000103', 'tasks',
   '{status,due_date}', '{comments}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000103', 'knowledge_base',
   '{body}', '{}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000103', 'invoices',
   '{status,total,currency}', '{lines}', '{}', '{}'),
  -- Expired Extras (expired: no effect)
  ('01900000-0005-7000-8000-000000000104', 'crm',
   '{description,industry}', '{}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000104', 'invoices',
   '{paid_amount}', '{}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000104', 'projects',
   '{progress}', '{}', '{}', '{}'),
  -- Inactive Extras (inactive: no effect)
  ('01900000-0005-7000-8000-000000000105', 'tasks',
   '{estimated_hours,completed_at}', '{}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000105', 'projects',
   '{}', '{budget}', '{}', '{}'),
  -- Project Reviewer (project-specific)
  ('01900000-0005-7000-8000-000000000106', 'projects',
   '{progress}', '{budget}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000106', 'tasks',
   '{estimated_hours,completed_at}', '{}', '{comment}', '{}'),
  ('01900000-0005-7000-8000-000000000106', 'invoices',
   '{paid_amount}', '{}', '{}', '{}'),
  -- Module Sampler (every module, four empty lists)
  ('01900000-0005-7000-8000-000000000107', 'crm',            '{}', '{}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000107', 'projects',       '{}', '{}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000107', 'tasks',          '{}', '{}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000107', 'knowledge_base', '{}', '{}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000107', 'invoices',       '{}', '{}', '{}', '{}'),
  -- Umbrella: Clients
  ('01900000-0005-7000-8000-000000000201', 'crm',
   '{email,phone,website}', '{owner}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000201', 'projects',
   '{description,status,start_date,end_date}', '{stage,owner,account,tasks}', '{}', '{stage_changed}'),
  ('01900000-0005-7000-8000-000000000201', 'tasks',
   '{description,status,priority,due_date}', '{assignee,project,comments}', '{}', '{status_changed}'),
  ('01900000-0005-7000-8000-000000000201', 'knowledge_base',
   '{body,category}', '{author}', '{}', '{}'),
  ('01900000-0005-7000-8000-000000000201', 'invoices',
   '{status,issue_date,due_date,total,currency}', '{account,project,lines}', '{}', '{issued}');

INSERT INTO role_assignments (role_id, external_user_id) VALUES
  ('01900000-0005-7000-8000-000000000101', '01900000-0004-7000-8000-000000000101'), -- Greta: Clients
  ('01900000-0005-7000-8000-000000000104', '01900000-0004-7000-8000-000000000101'), -- Greta: Expired Extras
  ('01900000-0005-7000-8000-000000000105', '01900000-0004-7000-8000-000000000101'), -- Greta: Inactive Extras
  ('01900000-0005-7000-8000-000000000101', '01900000-0004-7000-8000-000000000102'), -- Frank: Clients
  ('01900000-0005-7000-8000-000000000102', '01900000-0004-7000-8000-000000000102'), -- Frank: Freelancers
  ('01900000-0005-7000-8000-000000000103', '01900000-0004-7000-8000-000000000103'), -- Ivan: Initech Portal
  ('01900000-0005-7000-8000-000000000101', '01900000-0004-7000-8000-000000000104'), -- Rita: Clients
  ('01900000-0005-7000-8000-000000000201', '01900000-0004-7000-8000-000000000201'); -- Uma: Clients (Umbrella)

-- ---------------------------------------------------------------- project stages
INSERT INTO project_stages (id, workspace_id, name, position) VALUES
  ('01900000-0006-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100', 'Discovery', 1),
  ('01900000-0006-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100', 'Build',     2),
  ('01900000-0006-7000-8000-000000000103', '01900000-0001-7000-8000-000000000100', 'Review',    3),
  ('01900000-0006-7000-8000-000000000104', '01900000-0001-7000-8000-000000000100', 'Done',      4),
  ('01900000-0006-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200', 'Planning',  1);

-- ---------------------------------------------------------------- projects
-- Parents are inserted before their sub-projects.
INSERT INTO projects (id, workspace_id, account_id, parent_id, name, description, status,
                      start_date, end_date, progress, stage_id, owner_id,
                      own_organization, shared_with_account, archived, created_at) VALUES
  ('01900000-0007-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100',
   '01900000-0003-7000-8000-000000000101', NULL,
   'Website Relaunch', 'New design, CMS and hosting for globex.example.', 'ACTIVE',
   '2026-01-12', '2026-06-30', 40, '01900000-0006-7000-8000-000000000102', '01900000-0002-7000-8000-000000000101',
   false, true, false, '2026-01-07 09:00:00+00'),
  ('01900000-0007-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100',
   '01900000-0003-7000-8000-000000000101', '01900000-0007-7000-8000-000000000101',
   'Website Relaunch: Content Migration', 'Move the old site''s pages and media into the new CMS.', 'ACTIVE',
   '2026-02-01', '2026-04-30', 15, '01900000-0006-7000-8000-000000000101', '01900000-0002-7000-8000-000000000102',
   false, false, false, '2026-01-07 09:10:00+00'),
  ('01900000-0007-7000-8000-000000000103', '01900000-0001-7000-8000-000000000100',
   '01900000-0003-7000-8000-000000000101', '01900000-0007-7000-8000-000000000101',
   'Website Relaunch: Mobile App', 'Companion app for iOS and Android.', 'ON_HOLD',
   '2026-03-01', '2026-09-30', 5, '01900000-0006-7000-8000-000000000101', '01900000-0002-7000-8000-000000000101',
   true, false, false, '2026-01-07 09:20:00+00'),
  ('01900000-0007-7000-8000-000000000104', '01900000-0001-7000-8000-000000000100',
   '01900000-0003-7000-8000-000000000101', NULL,
   'Data Warehouse', 'Central reporting warehouse for sales and production data.', 'ACTIVE',
   '2026-01-19', '2026-08-31', 25, '01900000-0006-7000-8000-000000000102', '01900000-0002-7000-8000-000000000102',
   false, false, false, '2026-01-07 09:30:00+00'),
  ('01900000-0007-7000-8000-000000000105', '01900000-0001-7000-8000-000000000100',
   '01900000-0003-7000-8000-000000000101', '01900000-0007-7000-8000-000000000104',
   'Data Warehouse: ETL', 'Nightly extract, transform and load jobs.', 'ACTIVE',
   '2026-02-15', '2026-07-31', 10, '01900000-0006-7000-8000-000000000101', '01900000-0002-7000-8000-000000000102',
   false, false, false, '2026-01-07 09:40:00+00'),
  ('01900000-0007-7000-8000-000000000106', '01900000-0001-7000-8000-000000000100',
   '01900000-0003-7000-8000-000000000101', NULL,
   'Globex Internal Audit', 'Internal review of the Globex engagement. Staff only.', 'ACTIVE',
   '2026-02-02', '2026-03-31', 50, '01900000-0006-7000-8000-000000000103', '01900000-0002-7000-8000-000000000101',
   false, false, false, '2026-01-07 09:50:00+00'),
  ('01900000-0007-7000-8000-000000000107', '01900000-0001-7000-8000-000000000100',
   '01900000-0003-7000-8000-000000000101', NULL,
   'Legacy Portal', 'The old customer portal, retired.', 'COMPLETED',
   '2025-06-01', '2026-01-31', 100, '01900000-0006-7000-8000-000000000104', '01900000-0002-7000-8000-000000000102',
   false, true, true, '2026-01-07 10:00:00+00'),
  ('01900000-0007-7000-8000-000000000108', '01900000-0001-7000-8000-000000000100',
   '01900000-0003-7000-8000-000000000102', NULL,
   'TPS Reports', 'Automate the TPS report cover sheets.', 'ACTIVE',
   '2026-01-26', '2026-05-29', 60, '01900000-0006-7000-8000-000000000103', '01900000-0002-7000-8000-000000000101',
   false, true, false, '2026-01-07 10:10:00+00'),
  ('01900000-0007-7000-8000-000000000109', '01900000-0001-7000-8000-000000000100',
   '01900000-0003-7000-8000-000000000102', NULL,
   'Initech Secret Merger', 'Confidential due diligence. Staff only.', 'ON_HOLD',
   '2026-02-09', '2026-12-18', 0, '01900000-0006-7000-8000-000000000101', '01900000-0002-7000-8000-000000000101',
   false, false, false, '2026-01-07 10:20:00+00'),
  ('01900000-0007-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200',
   '01900000-0003-7000-8000-000000000201', NULL,
   'Hive Lab Renovation', 'Refit of the underground laboratory.', 'ACTIVE',
   '2026-01-12', '2026-10-30', 30, '01900000-0006-7000-8000-000000000201', '01900000-0002-7000-8000-000000000201',
   false, true, false, '2026-01-07 11:00:00+00');

INSERT INTO project_members (project_id, external_user_id, role_id) VALUES
  -- Frank reviews the Mobile App (which has its own organization).
  ('01900000-0007-7000-8000-000000000103', '01900000-0004-7000-8000-000000000102', '01900000-0005-7000-8000-000000000106'),
  -- Greta reviews Data Warehouse (and, by inheritance, Data Warehouse: ETL).
  ('01900000-0007-7000-8000-000000000104', '01900000-0004-7000-8000-000000000101', '01900000-0005-7000-8000-000000000106');

INSERT INTO budgets (project_id, amount_cents, spent_cents, currency, client_access) VALUES
  ('01900000-0007-7000-8000-000000000101', 5000000, 1200000, 'EUR', true),   -- Website Relaunch
  ('01900000-0007-7000-8000-000000000104', 8000000, 2500000, 'EUR', false),  -- Data Warehouse
  ('01900000-0007-7000-8000-000000000108', 2000000,  500000, 'EUR', true);   -- TPS Reports

-- ---------------------------------------------------------------- tasks
INSERT INTO tasks (id, workspace_id, project_id, title, description, status, priority, due_date,
                   estimated_hours, created_at, completed_at, assignee_id, owner_id, internal) VALUES
  -- Website Relaunch
  ('01900000-0008-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000101',
   'Kick-off workshop', 'Agree on goals, audience and timeline with Globex.', 'DONE', 'HIGH', '2026-01-20',
   4, '2026-01-12 09:00:00+00', '2026-01-19 16:00:00+00',
   '01900000-0002-7000-8000-000000000101', '01900000-0002-7000-8000-000000000101', false),
  ('01900000-0008-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000101',
   'Design new homepage', 'Two layout variants for review.', 'IN_PROGRESS', 'HIGH', '2026-03-13',
   24, '2026-01-12 09:10:00+00', NULL,
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000101', false),
  ('01900000-0008-7000-8000-000000000103', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000101',
   'Set up staging server', 'Internal: provision staging and CI deploys.', 'OPEN', 'NORMAL', '2026-02-27',
   6, '2026-01-12 09:20:00+00', NULL,
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000101', true),
  ('01900000-0008-7000-8000-000000000104', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000101',
   'Write launch copy', 'Headlines and body copy for the main pages.', 'OPEN', 'LOW', '2026-05-29',
   10, '2026-01-12 09:30:00+00', NULL,
   '01900000-0002-7000-8000-000000000101', '01900000-0002-7000-8000-000000000102', false),
  ('01900000-0008-7000-8000-000000000105', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000101',
   'Fix contact form spam', 'Add a honeypot field to the contact form.', 'CANCELLED', 'URGENT', '2026-02-06',
   2, '2026-01-12 09:40:00+00', NULL,
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000102', false),
  -- Website Relaunch: Content Migration
  ('01900000-0008-7000-8000-000000000106', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000102',
   'Inventory old pages', 'List every page and asset of the old site.', 'IN_PROGRESS', 'NORMAL', '2026-02-20',
   8, '2026-01-13 09:00:00+00', NULL,
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000102', false),
  ('01900000-0008-7000-8000-000000000107', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000102',
   'Set up redirects', 'Map old URLs to the new ones.', 'OPEN', 'NORMAL', '2026-04-24',
   5, '2026-01-13 09:10:00+00', NULL,
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000102', false),
  -- Website Relaunch: Mobile App
  ('01900000-0008-7000-8000-000000000108', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000103',
   'App wireframes', 'Wireframes for the main app screens.', 'OPEN', 'HIGH', '2026-03-27',
   16, '2026-01-14 09:00:00+00', NULL,
   '01900000-0002-7000-8000-000000000101', '01900000-0002-7000-8000-000000000101', false),
  ('01900000-0008-7000-8000-000000000109', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000103',
   'Push notification spike', 'Evaluate push notification providers.', 'OPEN', 'LOW', '2026-04-17',
   6, '2026-01-14 09:10:00+00', NULL,
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000101', false),
  -- Data Warehouse
  ('01900000-0008-7000-8000-000000000110', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000104',
   'Define KPIs', 'Agree on the KPIs the dashboards must show.', 'DONE', 'HIGH', '2026-02-06',
   12, '2026-01-19 09:00:00+00', '2026-02-05 15:30:00+00',
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000102', false),
  ('01900000-0008-7000-8000-000000000111', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000104',
   'Negotiate database licence', 'Internal: price negotiation with the vendor.', 'IN_PROGRESS', 'NORMAL', '2026-03-06',
   3, '2026-01-19 09:10:00+00', NULL,
   '01900000-0002-7000-8000-000000000101', '01900000-0002-7000-8000-000000000102', true),
  -- Data Warehouse: ETL
  ('01900000-0008-7000-8000-000000000112', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000105',
   'Build nightly import job', 'Import ERP orders every night.', 'OPEN', 'NORMAL', '2026-05-15',
   20, '2026-01-20 09:00:00+00', NULL,
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000102', false),
  -- Globex Internal Audit (no external sees it)
  ('01900000-0008-7000-8000-000000000113', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000106',
   'Review engagement margins', 'Check hours against budgets.', 'OPEN', 'NORMAL', '2026-03-20',
   4, '2026-01-21 09:00:00+00', NULL,
   '01900000-0002-7000-8000-000000000101', '01900000-0002-7000-8000-000000000101', false),
  -- Legacy Portal (archived)
  ('01900000-0008-7000-8000-000000000114', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000107',
   'Archive old portal data', 'Export the old portal''s records before shutdown.', 'DONE', 'NORMAL', '2026-01-30',
   3, '2026-01-22 09:00:00+00', '2026-01-23 10:00:00+00',
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000102', false),
  -- TPS Reports
  ('01900000-0008-7000-8000-000000000115', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000108',
   'New cover sheet template', 'Design the new TPS cover sheet.', 'IN_PROGRESS', 'HIGH', '2026-03-06',
   8, '2026-01-26 09:00:00+00', NULL,
   '01900000-0002-7000-8000-000000000101', '01900000-0002-7000-8000-000000000101', false),
  ('01900000-0008-7000-8000-000000000116', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000108',
   'Automate report distribution', 'Send the reports to every manager automatically.', 'OPEN', 'NORMAL', '2026-04-30',
   14, '2026-01-26 09:10:00+00', NULL,
   '01900000-0002-7000-8000-000000000102', '01900000-0002-7000-8000-000000000101', false),
  -- Initech Secret Merger (no external sees it)
  ('01900000-0008-7000-8000-000000000117', '01900000-0001-7000-8000-000000000100', '01900000-0007-7000-8000-000000000109',
   'Draft due diligence checklist', 'Confidential.', 'OPEN', 'URGENT', '2026-02-27',
   10, '2026-02-09 09:00:00+00', NULL,
   '01900000-0002-7000-8000-000000000101', '01900000-0002-7000-8000-000000000101', false),
  -- Umbrella: Hive Lab Renovation
  ('01900000-0008-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200', '01900000-0007-7000-8000-000000000201',
   'Replace containment doors', 'Order and install new doors.', 'OPEN', 'HIGH', '2026-04-10',
   40, '2026-02-10 09:00:00+00', NULL,
   '01900000-0002-7000-8000-000000000201', '01900000-0002-7000-8000-000000000201', false);

-- ---------------------------------------------------------------- comments
INSERT INTO comments (id, workspace_id, task_id, body, created_at, internal, author_staff_id, author_external_id) VALUES
  ('01900000-0009-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100', '01900000-0008-7000-8000-000000000102',
   'First homepage draft is up for review.', '2026-02-10 10:00:00+00', false,
   '01900000-0002-7000-8000-000000000102', NULL),
  ('01900000-0009-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100', '01900000-0008-7000-8000-000000000102',
   'Looks great. Could we try a darker header?', '2026-02-10 14:30:00+00', false,
   NULL, '01900000-0004-7000-8000-000000000101'),
  ('01900000-0009-7000-8000-000000000103', '01900000-0001-7000-8000-000000000100', '01900000-0008-7000-8000-000000000102',
   'Internal: check the dark header against their brand guide first.', '2026-02-10 15:00:00+00', true,
   '01900000-0002-7000-8000-000000000101', NULL),
  ('01900000-0009-7000-8000-000000000104', '01900000-0001-7000-8000-000000000100', '01900000-0008-7000-8000-000000000115',
   'Did you get the memo about the new cover sheets?', '2026-02-12 09:15:00+00', false,
   NULL, '01900000-0004-7000-8000-000000000103'),
  ('01900000-0009-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200', '01900000-0008-7000-8000-000000000201',
   'Please use the reinforced model.', '2026-02-13 08:00:00+00', false,
   NULL, '01900000-0004-7000-8000-000000000201');

-- ---------------------------------------------------------------- invoices and estimates
-- total_cents = sum of the lines' amount_cents.
INSERT INTO invoices (id, workspace_id, account_id, project_id, number, kind, status,
                      issue_date, due_date, total_cents, currency, paid_cents, created_at) VALUES
  -- Globex
  ('01900000-000a-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000101',
   '01900000-0007-7000-8000-000000000101', 'INV-2026-001', 'INVOICE', 'SENT',
   '2026-02-02', '2026-03-04', 402000, 'EUR', 0, '2026-02-02 09:00:00+00'),
  ('01900000-000a-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000101',
   '01900000-0007-7000-8000-000000000104', 'INV-2026-002', 'INVOICE', 'PAID',
   '2026-02-09', '2026-03-11', 480000, 'EUR', 480000, '2026-02-09 09:00:00+00'),
  ('01900000-000a-7000-8000-000000000103', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000101',
   NULL, 'INV-2026-003', 'INVOICE', 'DRAFT',
   NULL, NULL, 45000, 'EUR', 0, '2026-02-16 09:00:00+00'),
  ('01900000-000a-7000-8000-000000000104', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000101',
   '01900000-0007-7000-8000-000000000104', 'EST-2026-001', 'ESTIMATE', 'SENT',
   '2026-02-17', '2026-03-17', 620000, 'EUR', 0, '2026-02-17 09:00:00+00'),
  -- Initech
  ('01900000-000a-7000-8000-000000000105', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000102',
   '01900000-0007-7000-8000-000000000108', 'INV-2026-004', 'INVOICE', 'SENT',
   '2026-02-23', '2026-03-25', 114000, 'EUR', 0, '2026-02-23 09:00:00+00'),
  ('01900000-000a-7000-8000-000000000106', '01900000-0001-7000-8000-000000000100', '01900000-0003-7000-8000-000000000102',
   '01900000-0007-7000-8000-000000000108', 'EST-2026-002', 'ESTIMATE', 'SENT',
   '2026-03-02', '2026-04-01', 320000, 'EUR', 0, '2026-03-02 09:00:00+00'),
  -- Umbrella (same number as Acme's first invoice: numbers are unique per workspace only)
  ('01900000-000a-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200', '01900000-0003-7000-8000-000000000201',
   '01900000-0007-7000-8000-000000000201', 'INV-2026-001', 'INVOICE', 'SENT',
   '2026-03-03', '2026-04-02', 900000, 'USD', 0, '2026-03-03 09:00:00+00');

INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price_cents, amount_cents) VALUES
  -- INV-2026-001 (Globex, SENT, Website Relaunch): 250000 + 152000 = 402000
  ('01900000-000b-7000-8000-000000000101', '01900000-000a-7000-8000-000000000101', 1, 'Discovery workshop',      1,  250000, 250000),
  ('01900000-000b-7000-8000-000000000102', '01900000-000a-7000-8000-000000000101', 2, 'Homepage design (hours)', 16,   9500, 152000),
  -- INV-2026-002 (Globex, PAID, Data Warehouse): 480000
  ('01900000-000b-7000-8000-000000000103', '01900000-000a-7000-8000-000000000102', 1, 'Data warehouse assessment', 1, 480000, 480000),
  -- INV-2026-003 (Globex, DRAFT): 45000
  ('01900000-000b-7000-8000-000000000104', '01900000-000a-7000-8000-000000000103', 1, 'Hosting (months)',        3,   15000,  45000),
  -- EST-2026-001 (Globex, ESTIMATE SENT, Data Warehouse): 440000 + 180000 = 620000
  ('01900000-000b-7000-8000-000000000105', '01900000-000a-7000-8000-000000000104', 1, 'ETL pipeline build (hours)', 40, 11000, 440000),
  ('01900000-000b-7000-8000-000000000106', '01900000-000a-7000-8000-000000000104', 2, 'Dashboard setup',         1,  180000, 180000),
  -- INV-2026-004 (Initech, SENT, TPS Reports): 114000
  ('01900000-000b-7000-8000-000000000107', '01900000-000a-7000-8000-000000000105', 1, 'Cover sheet template (hours)', 12, 9500, 114000),
  -- EST-2026-002 (Initech, ESTIMATE SENT, TPS Reports): 320000
  ('01900000-000b-7000-8000-000000000108', '01900000-000a-7000-8000-000000000106', 1, 'Report distribution automation', 1, 320000, 320000),
  -- Umbrella INV-2026-001: 900000
  ('01900000-000b-7000-8000-000000000201', '01900000-000a-7000-8000-000000000201', 1, 'Containment doors',       3,  300000, 900000);

-- ---------------------------------------------------------------- knowledge base
INSERT INTO kb_articles (id, workspace_id, title, body, category, updated_at, author_id, published) VALUES
  ('01900000-000c-7000-8000-000000000101', '01900000-0001-7000-8000-000000000100', 'Getting started',
   'Welcome to the Acme Studio client portal. Here you find your projects, tasks, invoices and these articles.',
   'Onboarding', '2026-01-08 09:00:00+00', '01900000-0002-7000-8000-000000000101', true),
  ('01900000-000c-7000-8000-000000000102', '01900000-0001-7000-8000-000000000100', 'Invoices explained',
   'Estimates can be accepted in the portal; invoices are due 30 days after issue.',
   'Billing', '2026-01-09 09:00:00+00', '01900000-0002-7000-8000-000000000102', true),
  ('01900000-000c-7000-8000-000000000103', '01900000-0001-7000-8000-000000000100', 'Working with tasks',
   'Follow task status, due dates and comments; freelancers may create tasks.',
   'Projects', '2026-01-10 09:00:00+00', '01900000-0002-7000-8000-000000000101', true),
  ('01900000-000c-7000-8000-000000000104', '01900000-0001-7000-8000-000000000100', 'Upcoming pricing',
   'Draft: new hourly rates from July 2026. Not for clients yet.',
   'Billing', '2026-02-20 09:00:00+00', '01900000-0002-7000-8000-000000000102', false),
  ('01900000-000c-7000-8000-000000000201', '01900000-0001-7000-8000-000000000200', 'Umbrella handbook',
   'Safety rules for all visitors.',
   'Onboarding', '2026-01-08 10:00:00+00', '01900000-0002-7000-8000-000000000201', true);

-- The demo's records are history, not news: the events their inserts recorded are
-- dropped, so every demo inbox starts empty (docs/permissions.md#notifications).
DELETE FROM portal_events WHERE workspace_id IN
  ('01900000-0001-7000-8000-000000000100', '01900000-0001-7000-8000-000000000200');
