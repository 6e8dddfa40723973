-- SPEC §10: every request of an external user or of a preview leaves an event.
-- No foreign keys on the people: their events stay when they are deleted.
CREATE TABLE audit_events (
    id               uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    at               timestamptz NOT NULL DEFAULT now(),
    external_user_id uuid,
    account_id       uuid,
    preview_by       uuid,
    operation_name   text,
    operation_type   text NOT NULL CHECK (operation_type IN ('QUERY','MUTATION','SUBSCRIPTION')),
    root_fields      text[] NOT NULL DEFAULT '{}',
    record_ids       uuid[] NOT NULL DEFAULT '{}',
    outcome          text NOT NULL
);
CREATE INDEX audit_events_workspace_idx ON audit_events (workspace_id, id DESC);
CREATE INDEX audit_events_user_idx ON audit_events (external_user_id, id DESC);
