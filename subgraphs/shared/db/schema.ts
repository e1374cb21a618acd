import { outboxTable } from '../outbox-table.js';
import { tenantIsolation } from '../tenant-policy.js';

// Objects every regional subgraph needs before its own migrations: the application role (a custom
// migration in ./migrations) and the region's outbox, which users and orders share.

/**
 * A tenant's transaction may add events of its own tenant only; it can read
 * none (the relay reads them as the owner, outside any tenant).
 */
export const regionalOutbox = outboxTable((tenantId) => [tenantIsolation('outbox', tenantId)]);
