-- Events in commit order (docs/api.md#subscriptions): `seq` was taken when the event was
-- inserted, so two transactions could commit in the other order than their events'
-- numbers, and a client resuming after the later number would never see the earlier
-- one. A deferred trigger renumbers each event at its transaction's commit, under a lock
-- held until the commit is visible: events become visible in `seq` order, so "every
-- event after N" has no gap, for `portalEvents(after:)` and for an instance whose
-- listener reconnects. Only transactions that recorded events wait for each other, and
-- only for the length of a commit.
CREATE FUNCTION portal_events_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The key is arbitrary: the events' own, shared by every instance.
    PERFORM pg_advisory_xact_lock(6177104553260593);
    UPDATE portal_events SET seq = nextval(pg_get_serial_sequence('portal_events', 'seq'))
    WHERE id = NEW.id;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER portal_events_commit_order AFTER INSERT ON portal_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portal_events_commit_order();

-- Retention sweeps by age.
CREATE INDEX portal_events_occurred_idx ON portal_events (occurred_at);
