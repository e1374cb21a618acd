-- A tenant's transaction (SET LOCAL ROLE geofed_app) appends events of its own tenant and reads none.
-- Row-level security is not forced here: the relay reads every tenant's events as the table's owner.
GRANT INSERT ON "outbox" TO geofed_app;--> statement-breakpoint
GRANT USAGE ON SEQUENCE "outbox_seq_seq" TO geofed_app;
