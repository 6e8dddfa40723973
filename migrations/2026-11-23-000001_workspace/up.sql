-- The whole data model of SPEC §1–§5 (and room for §9/§10/§12).
-- Enumerations are text with CHECK constraints so that the catalog stays in code.

CREATE TABLE workspaces (
    id               uuid PRIMARY KEY,
    name             text NOT NULL,
    -- Modules switched off (not installed / not in the plan): their grants are inert.
    disabled_modules text[] NOT NULL DEFAULT '{}'
        CHECK (disabled_modules <@ ARRAY['crm','projects','tasks','knowledge_base','invoices']),
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff_users (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        text NOT NULL UNIQUE,
    name         text NOT NULL,
    is_admin     boolean NOT NULL DEFAULT false
);
CREATE INDEX staff_users_workspace_idx ON staff_users (workspace_id);

CREATE TABLE accounts (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    email        text,
    phone        text,
    website      text,
    address      text,
    industry     text,
    description  text,
    owner_id     uuid REFERENCES staff_users (id) ON DELETE SET NULL
);
CREATE INDEX accounts_workspace_name_idx ON accounts (workspace_id, name, id);
CREATE INDEX accounts_owner_idx ON accounts (owner_id);

CREATE TABLE external_users (
    id             uuid PRIMARY KEY,
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email          text NOT NULL UNIQUE,
    name           text NOT NULL,
    portal_access  boolean NOT NULL DEFAULT true,
    -- §12 (planned): per-user access end date and password sign-in.
    access_ends_at timestamptz,
    password_hash  text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX external_users_workspace_idx ON external_users (workspace_id);
CREATE INDEX external_users_account_idx ON external_users (account_id);

CREATE TABLE roles (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text,
    active       boolean NOT NULL DEFAULT true,
    expires_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, name)
);

-- One row per module a role names (even with four empty lists).
CREATE TABLE role_grants (
    role_id       uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    module        text NOT NULL CHECK (module IN ('crm','projects','tasks','knowledge_base','invoices')),
    fields        text[] NOT NULL DEFAULT '{}',
    relations     text[] NOT NULL DEFAULT '{}',
    actions       text[] NOT NULL DEFAULT '{}',
    notifications text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (role_id, module)
);

CREATE TABLE role_assignments (
    role_id          uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    external_user_id uuid NOT NULL REFERENCES external_users (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, external_user_id)
);
CREATE INDEX role_assignments_user_idx ON role_assignments (external_user_id);

CREATE TABLE project_stages (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    position     integer NOT NULL
);
CREATE INDEX project_stages_workspace_idx ON project_stages (workspace_id, position);

CREATE TABLE projects (
    id                  uuid PRIMARY KEY,
    workspace_id        uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id          uuid REFERENCES accounts (id) ON DELETE SET NULL,
    parent_id           uuid REFERENCES projects (id) ON DELETE CASCADE,
    name                text NOT NULL,
    description         text,
    status              text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE','ON_HOLD','COMPLETED')),
    start_date          date,
    end_date            date,
    progress            integer CHECK (progress BETWEEN 0 AND 100),
    stage_id            uuid REFERENCES project_stages (id) ON DELETE SET NULL,
    owner_id            uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    -- A sub-project uses its parent's organization until it is given its own.
    own_organization    boolean NOT NULL DEFAULT false,
    shared_with_account boolean NOT NULL DEFAULT false,
    archived            boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_workspace_name_idx ON projects (workspace_id, name, id);
CREATE INDEX projects_account_shared_idx ON projects (account_id, name, id) WHERE shared_with_account AND NOT archived;
CREATE INDEX projects_account_idx ON projects (account_id);
CREATE INDEX projects_parent_idx ON projects (parent_id);
CREATE INDEX projects_stage_idx ON projects (stage_id);
CREATE INDEX projects_owner_idx ON projects (owner_id);

CREATE TABLE project_members (
    project_id       uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    external_user_id uuid NOT NULL REFERENCES external_users (id) ON DELETE CASCADE,
    role_id          uuid REFERENCES roles (id) ON DELETE SET NULL,
    PRIMARY KEY (project_id, external_user_id)
);
CREATE INDEX project_members_user_idx ON project_members (external_user_id);
CREATE INDEX project_members_role_idx ON project_members (role_id);

CREATE TABLE budgets (
    project_id    uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    amount_cents  bigint NOT NULL DEFAULT 0,
    spent_cents   bigint NOT NULL DEFAULT 0,
    currency      text NOT NULL DEFAULT 'EUR',
    client_access boolean NOT NULL DEFAULT false
);

CREATE TABLE tasks (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    project_id      uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title           text NOT NULL,
    description     text,
    status          text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN','IN_PROGRESS','DONE','CANCELLED')),
    priority        text NOT NULL DEFAULT 'NORMAL' CHECK (priority IN ('LOW','NORMAL','HIGH','URGENT')),
    due_date        date,
    estimated_hours double precision,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    assignee_id     uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    owner_id        uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    created_by_external_id uuid REFERENCES external_users (id) ON DELETE SET NULL,
    internal        boolean NOT NULL DEFAULT false
);
CREATE INDEX tasks_project_idx ON tasks (project_id, id);
CREATE INDEX tasks_project_visible_idx ON tasks (project_id, id) WHERE NOT internal;
CREATE INDEX tasks_workspace_idx ON tasks (workspace_id);
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id);
CREATE INDEX tasks_owner_idx ON tasks (owner_id);
CREATE INDEX tasks_created_by_idx ON tasks (created_by_external_id);

CREATE TABLE comments (
    id                 uuid PRIMARY KEY,
    workspace_id       uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    task_id            uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    body               text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    internal           boolean NOT NULL DEFAULT false,
    author_staff_id    uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    author_external_id uuid REFERENCES external_users (id) ON DELETE SET NULL
);
CREATE INDEX comments_task_idx ON comments (task_id, id);
CREATE INDEX comments_task_visible_idx ON comments (task_id, id) WHERE NOT internal;
CREATE INDEX comments_workspace_idx ON comments (workspace_id);
CREATE INDEX comments_author_staff_idx ON comments (author_staff_id);
CREATE INDEX comments_author_external_idx ON comments (author_external_id);

CREATE TABLE invoices (
    id                uuid PRIMARY KEY,
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    project_id        uuid REFERENCES projects (id) ON DELETE SET NULL,
    number            text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('INVOICE','ESTIMATE')),
    status            text NOT NULL DEFAULT 'DRAFT'
        CHECK (status IN ('DRAFT','SENT','ACCEPTED','PAID','OVERDUE','CANCELLED')),
    issue_date        date,
    due_date          date,
    total_cents       bigint NOT NULL DEFAULT 0,
    currency          text NOT NULL DEFAULT 'EUR',
    paid_cents        bigint NOT NULL DEFAULT 0,
    -- An estimate converts once: the invoice made from it points back, uniquely.
    converted_from_id uuid UNIQUE REFERENCES invoices (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, number)
);
CREATE INDEX invoices_account_idx ON invoices (account_id, number) WHERE status <> 'DRAFT';
CREATE INDEX invoices_account_all_idx ON invoices (account_id);
CREATE INDEX invoices_project_idx ON invoices (project_id);

CREATE TABLE invoice_lines (
    id               uuid PRIMARY KEY,
    invoice_id       uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    description      text NOT NULL,
    quantity         double precision NOT NULL DEFAULT 1,
    unit_price_cents bigint NOT NULL DEFAULT 0,
    amount_cents     bigint NOT NULL DEFAULT 0
);
CREATE INDEX invoice_lines_invoice_idx ON invoice_lines (invoice_id, position);

CREATE TABLE kb_articles (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    title        text NOT NULL,
    body         text NOT NULL DEFAULT '',
    category     text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    author_id    uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    published    boolean NOT NULL DEFAULT false
);
CREATE INDEX kb_articles_workspace_title_idx ON kb_articles (workspace_id, title, id) WHERE published;
CREATE INDEX kb_articles_workspace_idx ON kb_articles (workspace_id);
CREATE INDEX kb_articles_author_idx ON kb_articles (author_id);
