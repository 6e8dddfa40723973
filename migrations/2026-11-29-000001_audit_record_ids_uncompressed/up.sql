-- Record ids are UUIDs: incompressible. A dashboard's event holds about two hundred of
-- them (3 KB), past the default TOAST threshold (2 KB): PostgreSQL tried to compress
-- every one (pglz_compress in the profile of make bench) and then moved it out of line.
-- Never compressed, and kept in the row up to a page.
ALTER TABLE audit_events ALTER COLUMN record_ids SET STORAGE EXTERNAL;
ALTER TABLE audit_events SET (toast_tuple_target = 8160);
