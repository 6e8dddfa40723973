DROP INDEX portal_events_occurred_idx;
DROP TRIGGER portal_events_commit_order ON portal_events;
DROP FUNCTION portal_events_commit_order();
