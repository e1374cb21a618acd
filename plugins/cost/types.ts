/**
 * Where a field's cost is charged: `home`, the tenant's home region (regional
 * fields, and any field several subgraphs can resolve); `local`, the gateway's
 * own region (fields only a global subgraph resolves).
 */
export type CostSite = 'home' | 'local';

/** An operation's static cost, and how it splits between the two sites. */
export interface CostEstimate { readonly total: number; readonly home: number; readonly local: number }
