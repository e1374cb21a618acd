-- Grants to the application role (created by subgraphs/shared/db/migrations) and forced row-level security:
-- table owners and superusers bypass RLS unless it is forced, and the role must be able to reach the tables.
GRANT USAGE ON SCHEMA public TO geofed_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON "users" TO geofed_app;--> statement-breakpoint
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
