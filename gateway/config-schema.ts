import { z } from 'zod';
import type { BucketSize } from './config.js';

// The shape of supergraph.yaml as written (snake_case keys, defaults applied); config.ts turns it into GeofedConfig.
export const regionName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a lower-case region name such as "eu"');
export const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });

const bucketSchema = z.object({ capacity: z.number().positive(), refill_per_second: z.number().nonnegative() }).strict();
export const toBucket = (bucket: { capacity: number; refill_per_second: number }): BucketSize => ({ capacity: bucket.capacity, refillPerSecond: bucket.refill_per_second });

export const fileSchema = z
  .object({
    regions: z.array(regionName).min(1),
    supergraph: z.string().min(1),
    gateway: z
      .object({
        region: regionName,
        port: z.number().int().min(0).max(65535).default(4000),
        subgraph_timeout_ms: z.number().int().positive().default(2000),
        tenant_cache_ttl_ms: z.number().int().nonnegative().default(30_000),
        max_body_bytes: z.number().int().positive().default(1_048_576),
        introspection: z.boolean().optional(),
      })
      .strict(),
    circuit_breaker: z
      .object({
        failure_threshold: z.number().int().positive().default(3),
        open_ms: z.number().int().positive().default(5000),
      })
      .strict()
      .default({ failure_threshold: 3, open_ms: 5000 }),
    security: z
      .object({ signature_window_seconds: z.number().int().positive().default(60) })
      .strict()
      .default({ signature_window_seconds: 60 }),
    limits: z
      .object({
        max_depth: z.number().int().positive().default(6),
        max_aliases: z.number().int().nonnegative().default(15),
        max_tokens: z.number().int().positive().default(1000),
        max_directives: z.number().int().nonnegative().default(50),
      })
      .strict()
      .default({ max_depth: 6, max_aliases: 15, max_tokens: 1000, max_directives: 50 }),
    replicas: z
      .object({
        consistency_wait_ms: z.number().int().nonnegative().default(100),
        max_lag_bytes: z.number().int().positive().default(16 * 1024 * 1024),
        health_check_interval_ms: z.number().int().positive().default(1000),
      })
      .strict()
      .default({ consistency_wait_ms: 100, max_lag_bytes: 16 * 1024 * 1024, health_check_interval_ms: 1000 }),
    cost: z
      .object({
        max_operation_cost: z.number().int().positive().default(10_000),
        default_list_size: z.number().int().nonnegative().default(10),
        mutation_cost: z.number().int().nonnegative().default(10),
      })
      .strict()
      .default({ max_operation_cost: 10_000, default_list_size: 10, mutation_cost: 10 }),
    rate_limits: z
      .object({
        enabled: z.boolean().default(true),
        on_store_error: z.enum(['open', 'closed']).default('open'),
        store_timeout_ms: z.number().int().positive().default(250),
        key_prefix: z.string().min(1).default('geofed:rl'),
        default_plan: z.string().min(1).default('free'),
        plans: z.record(z.string(), bucketSchema.extend({ regions: z.record(regionName, bucketSchema).default({}) }).strict()).default({}),
        anonymous: bucketSchema.extend({ client_key: z.enum(['address', 'x-forwarded-for']).default('address') }).strict().default({ capacity: 2_000, refill_per_second: 100, client_key: 'address' }),
      })
      .strict()
      .default({ enabled: true, on_store_error: 'open', store_timeout_ms: 250, key_prefix: 'geofed:rl', default_plan: 'free', plans: {}, anonymous: { capacity: 2_000, refill_per_second: 100, client_key: 'address' } }),
    cache_control: z
      .object({ max_age: z.record(z.string().regex(/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$/, 'a type ("Product") or a field ("Query.products")'), z.number().int().nonnegative()).default({}) })
      .strict()
      .default({ max_age: {} }),
    cors: z
      .object({ allowed_origins: z.array(z.union([z.literal('*'), z.url({ protocol: /^https?$/, error: 'an origin such as https://app.example.com' })])).default([]) })
      .strict()
      .default({ allowed_origins: [] }),
    persisted_queries: z
      .object({ manifest: z.string().min(1).optional(), mode: z.enum(['off', 'log-unlisted', 'safelist']).default('off') })
      .strict()
      .default({ mode: 'off' }),
    auth: z
      .object({ jwks_url: httpUrl.optional(), issuer: z.string().min(1).optional(), audience: z.string().min(1).optional() })
      .strict()
      .default({}),
    subgraphs: z.record(
      z.string().regex(/^[a-z][a-z0-9_]*$/, 'a lower-case subgraph name'),
      z
        .object({
          scope: z.enum(['global', 'regional']),
          schema: z.string().min(1),
          urls: z.record(regionName, httpUrl),
        })
        .strict(),
    ),
  })
  .strict();

export type FileConfig = z.infer<typeof fileSchema>;
