import { z } from 'zod';
import { settingsSection } from '../../runtime/settings.js';

/**
 * `persisted_queries` of supergraph.yaml. off: APQ only (a manifest, if
 * given, still answers lookups by hash). log-unlisted: serve everything, log
 * each operation whose body is not listed. safelist: refuse those before
 * execution with PERSISTED_QUERY_NOT_IN_LIST (400); no APQ registration.
 */
export const persistedQuerySettings = settingsSection({
  /** An `apollo-persisted-query-manifest` file (`npx geofed pq manifest`), relative to supergraph.yaml. */
  manifest: z.string().min(1).optional(),
  mode: z.enum(['off', 'log-unlisted', 'safelist']).default('off'),
})
  .refine((settings) => settings.mode === 'off' || settings.manifest !== undefined, { message: 'a mode other than "off" needs a manifest file', path: ['manifest'] })
  .prefault({});

export type PersistedQuerySettings = z.output<typeof persistedQuerySettings>;
