-- The outbox of portal events (docs/permissions.md#notifications): one row per change
-- that external users may be notified of, written by triggers in the transaction of the
-- change itself, so a change made straight in SQL has its event too and a rolled-back
-- one never does. `seq` orders events; `id` is what the API shows.
CREATE TABLE portal_events (
    seq          bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    kind         text NOT NULL CHECK (kind IN ('TASK_CREATED', 'TASK_STATUS_CHANGED',
                     'COMMENT_ADDED', 'PROJECT_STAGE_CHANGED', 'INVOICE_ISSUED',
                     'INVOICE_STATUS_CHANGED', 'ARTICLE_PUBLISHED')),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    -- The records the event concerns; no foreign keys: a deleted record's event stays
    -- and simply shows to nobody.
    project_id   uuid,
    task_id      uuid,
    comment_id   uuid,
    invoice_id   uuid,
    article_id   uuid
);
CREATE INDEX portal_events_workspace_idx ON portal_events (workspace_id, seq DESC);

-- What each external user has read of their inbox.
CREATE TABLE notification_reads (
    external_user_id uuid NOT NULL REFERENCES external_users (id) ON DELETE CASCADE,
    event_id         uuid NOT NULL REFERENCES portal_events (id) ON DELETE CASCADE,
    read_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (external_user_id, event_id)
);

-- Records one event and announces its id on the channel `portal_events` (delivered on
-- commit only).
CREATE FUNCTION portal_event(
    event_kind text, workspace uuid, project uuid, task uuid, comment uuid, invoice uuid,
    article uuid
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    event_id uuid;
BEGIN
    INSERT INTO portal_events (kind, workspace_id, project_id, task_id, comment_id, invoice_id, article_id)
    VALUES (event_kind, workspace, project, task, comment, invoice, article)
    RETURNING id INTO event_id;
    PERFORM pg_notify('portal_events', event_id::text);
END
$$;

CREATE FUNCTION portal_events_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portal_event('TASK_CREATED', NEW.workspace_id, NEW.project_id, NEW.id, NULL, NULL, NULL);
    ELSE
        PERFORM portal_event('TASK_STATUS_CHANGED', NEW.workspace_id, NEW.project_id, NEW.id, NULL, NULL, NULL);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER portal_events_task_created AFTER INSERT ON tasks
    FOR EACH ROW EXECUTE FUNCTION portal_events_tasks();
CREATE TRIGGER portal_events_task_status AFTER UPDATE OF status ON tasks
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION portal_events_tasks();

CREATE FUNCTION portal_events_comments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portal_event('COMMENT_ADDED', NEW.workspace_id,
        (SELECT t.project_id FROM tasks t WHERE t.id = NEW.task_id), NEW.task_id, NEW.id, NULL, NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER portal_events_comment_added AFTER INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION portal_events_comments();

CREATE FUNCTION portal_events_projects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portal_event('PROJECT_STAGE_CHANGED', NEW.workspace_id, NEW.id, NULL, NULL, NULL, NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER portal_events_project_stage AFTER UPDATE OF stage_id ON projects
    FOR EACH ROW WHEN (OLD.stage_id IS DISTINCT FROM NEW.stage_id)
    EXECUTE FUNCTION portal_events_projects();

CREATE FUNCTION portal_events_invoices() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portal_event(
        CASE WHEN OLD.status = 'DRAFT' AND NEW.status = 'SENT' THEN 'INVOICE_ISSUED'
             ELSE 'INVOICE_STATUS_CHANGED' END,
        NEW.workspace_id, NEW.project_id, NULL, NULL, NEW.id, NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER portal_events_invoice_status AFTER UPDATE OF status ON invoices
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION portal_events_invoices();

CREATE FUNCTION portal_events_articles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portal_event('ARTICLE_PUBLISHED', NEW.workspace_id, NULL, NULL, NULL, NULL, NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER portal_events_article_inserted AFTER INSERT ON kb_articles
    FOR EACH ROW WHEN (NEW.published)
    EXECUTE FUNCTION portal_events_articles();
CREATE TRIGGER portal_events_article_published AFTER UPDATE OF published ON kb_articles
    FOR EACH ROW WHEN (NEW.published AND NOT OLD.published)
    EXECUTE FUNCTION portal_events_articles();
