import { z } from 'zod';
import { nonNegativeInteger, positiveInteger, regionName, settingsSection } from '../../runtime/settings.js';

// The `probes` section of supergraph.yaml (docs/operations.md, "Synthetic probes"): the operations sent through each
// region's gateway as a client would, how many, and the SLOs their figures are held to.

/** One probe operation: a document sent as a client sends it, anonymous or as the region's probe tenant. */
const probeOperation = settingsSection({
  query: z.string().min(1),
  /** Sent with a token of the region's probe tenant (`probes.tenants.<region>`); a region without one skips it. */
  signed_in: z.boolean().default(false),
});

/** The caller of a region's signed-in probes: a tenant homed in that region, and one of its users (the token's `sub`). */
const probeTenant = settingsSection({
  tenant: z.string().min(1),
  user: z.string().min(1),
});

/** Per region: a catalog read any client may make, and a read of the probe tenant's own data, served at its home. */
const defaultOperations = {
  catalog: { query: '{ products(first: 1) { id } }' },
  me: { query: '{ me { id } }', signed_in: true },
};

export const probeSection = settingsSection({
  slo: settingsSection({
    /** A region whose probes' p95 latency is above this breaches its SLO. */
    p95_ms: z.number().positive().default(120),
    /** A region whose probes fail more often than this (0.005: one in 200) breaches its SLO. */
    error_rate: z.number().min(0).max(1).default(0.005),
  }).prefault({}),
  /** Requests of each operation in each region, one round. */
  requests: positiveInteger.default(20),
  /** Between two requests of one operation in one region: probes measure the gateway, they do not load it. */
  interval_ms: nonNegativeInteger.default(50),
  /** A probe request unanswered after this fails. */
  timeout_ms: positiveInteger.default(2_000),
  /** The gateway probes every region itself, one round every `watch_interval_ms`, for /status and /metrics. */
  watch: z.boolean().default(false),
  /** Between the end of one round and the start of the next (`geofed probe --watch`, `probes.watch`). */
  watch_interval_ms: positiveInteger.default(30_000),
  /** By region: the probe tenant of its signed-in operations. */
  tenants: z.record(regionName, probeTenant).default({}),
  /** By name: the operations of a round. */
  operations: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'an operation name of lower-case letters, digits, "_" and "-"'), probeOperation).prefault(defaultOperations),
}).prefault({});

export type ProbeSettings = z.output<typeof probeSection>;
