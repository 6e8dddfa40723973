-- Record ids are UUIDs: incompressible. A dashboard's event holds about two hundred of
-- them, past the TOAST threshold, and PostgreSQL tried to compress every one (pglz_compress
-- in the profile of make bench). Stored out of line without compression instead.
ALTER TABLE audit_events ALTER COLUMN record_ids SET STORAGE EXTERNAL;
