ALTER TABLE audit_events RESET (toast_tuple_target);
ALTER TABLE audit_events ALTER COLUMN record_ids SET STORAGE EXTENDED;
