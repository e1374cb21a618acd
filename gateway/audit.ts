import { auditLogger } from '../runtime/logger.js';

export interface RegionalFetchAudit {
  readonly tenant: string;
  readonly region: string;
  readonly subgraph: string;
  /** The client's operation name, or null for an anonymous operation. */
  readonly operation: string | null;
  readonly outcome: 'ok' | 'error' | 'refused';
}

/**
 * One structured line per regional fetch, so an auditor can be shown where
 * each tenant's data was served from. Ids and names only: no PII, no variables.
 */
export function auditRegionalFetch(entry: RegionalFetchAudit): void {
  auditLogger.info({ event: 'regional_fetch', ...entry });
}
