import { auditLogger } from '../runtime/logger.js';

export interface RegionalFetchAudit {
  readonly tenant: string;
  readonly region: string;
  readonly subgraph: string;
  /** The client's operation name, or null for an anonymous operation. */
  readonly operation: string | null;
  readonly outcome: 'ok' | 'error' | 'refused';
}

/** The longest client-supplied string an audit line carries: the rest is cut, and the line says so. */
const maxAuditedLength = 100;

/**
 * One structured line per regional fetch, so an auditor can be shown where
 * each tenant's data was served from. Ids and names only: no PII, no
 * variables, and every client-supplied string bounded (an operation name of
 * 500,000 characters is written as its first 100).
 */
export function auditRegionalFetch(entry: RegionalFetchAudit): void {
  const { operation } = entry;
  const cut = operation !== null && operation.length > maxAuditedLength;
  auditLogger.info({ event: 'regional_fetch', ...entry, operation: cut ? operation.slice(0, maxAuditedLength) : operation, ...(cut ? { operation_truncated: true } : {}) });
}
