DROP TABLE kb_articles, invoice_lines, invoices, comments, tasks, budgets, project_members,
    projects, project_stages, role_assignments, role_grants, roles, external_users, accounts,
    staff_users, workspaces;
