import { createHash } from 'node:crypto';
import type { SequenceStep } from '../harness/load.js';
import { meQuery } from '../me-query/tenants.js';

// The mixed workload, ten requests a pass: five anonymous persisted-query GETs of the catalog (the
// hash only, as a CDN-fronted frontend sends them), four signed-in reads of the caller's orders,
// one mutation renaming the caller. The caller's headers come from the load (token or x-bench-tenant).

export const catalogQuery = /* GraphQL */ '{ products(first: 5) { name priceCents currency } }';
const catalogHash = createHash('sha256').update(catalogQuery).digest('hex');
const persisted = { persistedQuery: { version: 1, sha256Hash: catalogHash } };

/** Registers the catalog query under its hash (automatic persisted queries): sent once before the load. */
export const registerCatalogQuery = JSON.stringify({ query: catalogQuery, extensions: persisted });

const anonymousGet: SequenceStep = {
  method: 'GET',
  search: `?extensions=${encodeURIComponent(JSON.stringify(persisted))}`,
  // CSRF prevention (Apollo's and geofed's) lets a GET through with this header.
  headers: { 'apollo-require-preflight': 'true' },
  anonymous: true,
};
const signedInRead: SequenceStep = { method: 'POST', body: JSON.stringify({ query: meQuery }) };
const mutation: SequenceStep = { method: 'POST', body: JSON.stringify({ query: 'mutation { updateProfile(name: "Bench Caller") { id } }' }) };

export const mixedSteps: readonly SequenceStep[] = [anonymousGet, signedInRead, anonymousGet, signedInRead, anonymousGet, mutation, anonymousGet, signedInRead, anonymousGet, signedInRead];
