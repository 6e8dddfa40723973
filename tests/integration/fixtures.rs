//! Data built for a test on top of the demo: SQL that tests run through `TestApp::sql`.

use uuid::Uuid;

/// A new external user in a new account of Acme Studio, holding one new role with
/// the given grant rows (`(module, fields, relations, actions, notifications)`, each a
/// PostgreSQL array literal). Returns the SQL; the user's e-mail is `{key}@clients.example`.
pub fn client_with_role(key: &str, grants: &[(&str, &str, &str, &str, &str)]) -> String {
    let role = Uuid::now_v7();
    let account = Uuid::now_v7();
    let user = Uuid::now_v7();
    let mut sql = format!(
        "INSERT INTO accounts (id, workspace_id, name, email, phone, website, address, industry, description, owner_id) \
           SELECT '{account}', id, 'Account {key}', 'a@{key}', '1', 'w', 'addr', 'ind', 'desc', \
                  (SELECT id FROM staff_users WHERE email = 'sam@acme.example') \
           FROM workspaces WHERE name = 'Acme Studio'; \
         INSERT INTO external_users (id, workspace_id, account_id, email, name) \
           SELECT '{user}', workspace_id, '{account}', '{key}@clients.example', 'User {key}' \
           FROM accounts WHERE id = '{account}'; \
         INSERT INTO roles (id, workspace_id, name) SELECT '{role}', workspace_id, 'Role {key}' \
           FROM accounts WHERE id = '{account}'; \
         INSERT INTO role_assignments (role_id, external_user_id) VALUES ('{role}', '{user}');"
    );
    for (module, fields, relations, actions, notifications) in grants {
        sql.push_str(&format!(
            "INSERT INTO role_grants (role_id, module, fields, relations, actions, notifications) \
             VALUES ('{role}', '{module}', '{fields}', '{relations}', '{actions}', '{notifications}');"
        ));
    }
    sql
}

/// `projects` projects shared with the account of `{key}@clients.example`, each with a
/// stage, an owner, a budget open to the client, `tasks` tasks with an assignee, two
/// comments per task, an internal task and an internal comment.
pub fn projects_for(key: &str, projects: usize, tasks: usize) -> String {
    format!(
        "WITH u AS (SELECT workspace_id, account_id FROM external_users WHERE email = '{key}@clients.example') \
         INSERT INTO projects (id, workspace_id, account_id, name, description, status, progress, stage_id, owner_id, shared_with_account) \
           SELECT gen_random_uuid(), u.workspace_id, u.account_id, 'P{key} ' || lpad(g::text, 3, '0'), 'd', 'ACTIVE', g, \
                  (SELECT id FROM project_stages WHERE workspace_id = u.workspace_id ORDER BY position LIMIT 1), \
                  (SELECT id FROM staff_users WHERE email = 'ada@acme.example'), true \
           FROM u, generate_series(1, {projects}) g; \
         INSERT INTO budgets (project_id, amount_cents, spent_cents, client_access) \
           SELECT id, 100000, 5000, true FROM projects WHERE name LIKE 'P{key} %'; \
         INSERT INTO tasks (id, workspace_id, project_id, title, status, assignee_id, internal) \
           SELECT gen_random_uuid(), p.workspace_id, p.id, 'T' || g, 'OPEN', \
                  (SELECT id FROM staff_users WHERE email = 'sam@acme.example'), g > {tasks} \
           FROM projects p, generate_series(1, {tasks} + 1) g WHERE p.name LIKE 'P{key} %'; \
         INSERT INTO comments (id, workspace_id, task_id, body, author_staff_id, internal) \
           SELECT gen_random_uuid(), t.workspace_id, t.id, 'c' || g, t.assignee_id, g = 3 \
           FROM tasks t JOIN projects p ON p.id = t.project_id, generate_series(1, 3) g \
           WHERE p.name LIKE 'P{key} %';"
    )
}
