-- SPEC §1: an external user's e-mail is unique per workspace, case-insensitively.
-- The first migration made it unique across all workspaces, so creating a user in one
-- workspace told its admin which e-mails exist in another. Existing rows stay as they
-- are (they were globally unique, hence unique per workspace; the API stores e-mails
-- lowercased, so no two of a workspace differ by case alone).
ALTER TABLE external_users DROP CONSTRAINT external_users_email_key;
CREATE UNIQUE INDEX external_users_workspace_email_key ON external_users (workspace_id, lower(email));
