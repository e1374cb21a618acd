-- Grants to the application role (created by subgraphs/shared/db/migrations) and forced row-level security:
-- table owners and superusers bypass RLS unless it is forced, and the role must be able to reach the tables.
GRANT USAGE ON SCHEMA public TO geofed_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON "orders", "order_items" TO geofed_app;--> statement-breakpoint
ALTER TABLE "orders" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "order_items" FORCE ROW LEVEL SECURITY;
