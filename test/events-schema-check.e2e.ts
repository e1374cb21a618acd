import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import { eventTypes, type EventCatalogue } from '../protocol/events.js';
import { eventsLint } from '../schema/check-events.js';
import { checkSchema } from '../schema/check.js';

// Issue 17, "Data classes": the schema check fails when an event type classed global carries a pii field.
const config = loadConfig('supergraph.yaml', {});
const supergraph = readFileSync(config.supergraphPath!, 'utf8');
const withType = (name: string, type: EventCatalogue[string]): EventCatalogue => ({ ...eventTypes, [name]: type });

describe('the events step of the schema check', () => {
  it('passes the declared event types', () => {
    expect(eventsLint(supergraph, eventTypes)).toEqual({ errors: [], warnings: [], eventTypes: Object.keys(eventTypes).length });
  });

  it('fails a global event with a field declared pii', () => {
    const catalogue = withType('users.profile.mirrored', { dataClass: 'global', entity: { kind: 'user', key: 'userId' }, fields: { userId: {}, email: { pii: true } } });
    expect(eventsLint(supergraph, catalogue).errors).toEqual(['event users.profile.mirrored is global (replicated to every region) but carries the pii field "email": make it regional, or drop the field']);
  });

  it('fails a field that copies a pii-tagged GraphQL field without saying so, global or regional', () => {
    const catalogue = withType('users.profile.mirrored', { dataClass: 'global', entity: { kind: 'user', key: 'userId' }, fields: { userId: {}, email: { from: 'User.email' } } });
    expect(eventsLint(supergraph, catalogue).errors).toEqual([
      'event users.profile.mirrored: field "email" copies User.email, which is tagged pii, but is not declared pii',
      'event users.profile.mirrored is global (replicated to every region) but carries the pii field "email": make it regional, or drop the field',
    ]);
    const regional = withType('users.profile.emailed', { dataClass: 'regional', entity: { kind: 'user', key: 'userId' }, fields: { userId: {}, email: { from: 'User.email' } } });
    expect(eventsLint(supergraph, regional).errors).toEqual(['event users.profile.emailed: field "email" copies User.email, which is tagged pii, but is not declared pii']);
  });

  it('warns of a field copied from a GraphQL field the supergraph does not have', () => {
    const catalogue = withType('catalog.product.renamed', { dataClass: 'global', entity: { kind: 'product', key: 'id' }, fields: { id: {}, title: { from: 'Product.title' } } });
    expect(eventsLint(supergraph, catalogue)).toMatchObject({ errors: [], warnings: ['event catalog.product.renamed: field "title" copies Product.title, which the supergraph does not have'] });
  });

  it('fails the whole check (npm run schema:check) on such an event type', async () => {
    const eventTypesWithPii = withType('users.profile.mirrored', { dataClass: 'global', entity: { kind: 'user', key: 'userId' }, fields: { userId: {}, name: { pii: true, from: 'User.name' } } });
    const report = await checkSchema({ config, baseSdl: null, manifestPath: null, eventTypes: eventTypesWithPii });
    expect(report.ok).toBe(false);
    expect(report.steps.find((s) => s.name === 'events')).toMatchObject({ ok: false, errors: ['event users.profile.mirrored is global (replicated to every region) but carries the pii field "name": make it regional, or drop the field'] });
    const clean = await checkSchema({ config, baseSdl: null, manifestPath: null });
    expect(clean.steps.find((s) => s.name === 'events')).toMatchObject({ ok: true, notes: [`${Object.keys(eventTypes).length} event types, no pii field in a global one`] });
  });
});
