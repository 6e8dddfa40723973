-- Back to one e-mail across all workspaces: fails while two workspaces share an e-mail.
DROP INDEX external_users_workspace_email_key;
ALTER TABLE external_users ADD CONSTRAINT external_users_email_key UNIQUE (email);
