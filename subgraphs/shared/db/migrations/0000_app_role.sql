-- The application role every tenant-scoped transaction switches to (SET LOCAL ROLE):
-- not a superuser, no BYPASSRLS, owns no table, so row-level security applies to it.
-- Roles are cluster-wide: another database (or a concurrent migration) may have created it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'geofed_app') THEN
    CREATE ROLE geofed_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;
