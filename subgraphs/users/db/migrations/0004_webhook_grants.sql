-- A tenant's transaction (SET LOCAL ROLE geofed_app) registers, lists and deletes its own endpoints, reads its
-- delivery log and replays its own dead deliveries. Row-level security is not forced: the region's consumer
-- and delivery worker act on every tenant's deliveries as the tables' owner.
GRANT SELECT, INSERT, DELETE ON "webhook_endpoints" TO geofed_app;--> statement-breakpoint
GRANT SELECT, UPDATE ON "webhook_deliveries" TO geofed_app;--> statement-breakpoint
GRANT SELECT ON "webhook_attempts" TO geofed_app;
