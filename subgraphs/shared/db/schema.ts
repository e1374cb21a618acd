// Objects every regional subgraph needs before its own migrations: only the application role,
// created by the custom migration in ./migrations (drizzle-kit has no table to generate here).
export {};
