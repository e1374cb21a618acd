// Where an event may go: the streams of a deployment and the subject of each event. Global events go to
// one stream every region consumes; a regional event only to its home region's stream, and dead letters
// stay in the region of the consumer that gave up on them (a regional event's copy holds personal data).
import type { EventEnvelope } from './events.js';

export interface StreamLayout {
  /** Names every subject (`<prefix>.…`) and stream (`<PREFIX>_…`), so that deployments (and tests) sharing a server stay apart. */
  readonly prefix: string;
  readonly regions: readonly string[];
  /** JetStream's duplicate window: a message id seen within it is stored once. Longer than a relay's retry horizon. */
  readonly duplicateWindowMs: number;
}

export interface StreamSpec {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly duplicateWindowMs: number;
}

/** Lower-case letters, digits, `_` and `-`: one token of a subject and part of a stream name. */
export const prefixPattern = /^[a-z][a-z0-9_-]{0,31}$/;

const streamName = (prefix: string, ...parts: string[]) => [prefix, ...parts].join('_').toUpperCase();

export const globalStream = (prefix: string) => streamName(prefix, 'global');
export const regionalStream = (prefix: string, region: string) => streamName(prefix, 'regional', region);
export const deadLetterStream = (prefix: string, region: string) => streamName(prefix, 'dlq', region);

export const globalSubjects = (prefix: string) => `${prefix}.global.>`;
export const regionalSubjects = (prefix: string, region: string) => `${prefix}.regional.${region}.>`;
export const deadLetterSubjects = (prefix: string, region: string) => `${prefix}.dlq.${region}.>`;

/** Every stream of a deployment: the global one, and a regional and a dead-letter stream per region. */
export function streamsOf({ prefix, regions, duplicateWindowMs }: StreamLayout): StreamSpec[] {
  return [
    { name: globalStream(prefix), subjects: [globalSubjects(prefix)], duplicateWindowMs },
    ...regions.flatMap((region) => [
      { name: regionalStream(prefix, region), subjects: [regionalSubjects(prefix, region)], duplicateWindowMs },
      { name: deadLetterStream(prefix, region), subjects: [deadLetterSubjects(prefix, region)], duplicateWindowMs },
    ]),
  ];
}

/**
 * A subject token for an id: as it is when it is letters, digits, `_` and
 * `-`; otherwise `~` and its base64url, so that a `.`, `*` or `>` in an id
 * can never widen or split the subject.
 */
export function subjectToken(id: string): string {
  return /^[A-Za-z0-9_-]{1,128}$/.test(id) ? id : `~${Buffer.from(id, 'utf8').toString('base64url')}`;
}

/** The entity's subject part (`product.prd_1`): one subject per entity, so its events keep their order. */
function entitySubject(entity: string): string {
  const colon = entity.indexOf(':');
  return `${subjectToken(entity.slice(0, colon))}.${subjectToken(entity.slice(colon + 1))}`;
}

export class ResidencyError extends Error {
  override readonly name = 'ResidencyError';
}

/**
 * The subject a relay of `relayRegion` (null: the global catalog's) publishes
 * `event` to. A regional event is published by a relay of its own region
 * only, to that region's subjects: anything else is a ResidencyError, never a
 * message.
 */
export function subjectOf(event: EventEnvelope, prefix: string, relayRegion: string | null): string {
  if (event.dataClass === 'global') {
    if (event.region !== null) throw new ResidencyError(`global event ${event.id} (${event.type}) names a home region`);
    return `${prefix}.global.${entitySubject(event.entity)}`;
  }
  if (event.region === null) throw new ResidencyError(`regional event ${event.id} (${event.type}) has no home region`);
  if (relayRegion === null || event.region !== relayRegion) {
    throw new ResidencyError(`regional event ${event.id} (${event.type}) of region "${event.region}" reached the relay of ${relayRegion === null ? 'the global catalog' : `region "${relayRegion}"`}: it is published by its own region's relay only`);
  }
  return `${prefix}.regional.${subjectToken(event.region)}.${entitySubject(event.entity)}`;
}

/** The region whose stream holds `subject`, or null for the global stream; undefined when it is no event subject of `prefix`. */
export function regionOfSubject(subject: string, prefix: string): string | null | undefined {
  const [first, scope, region] = subject.split('.');
  if (first !== prefix) return undefined;
  if (scope === 'global') return null;
  return scope === 'regional' || scope === 'dlq' ? region : undefined;
}

/** A dead letter's subject: in the region of the consumer that gave up, under that consumer's name. */
export function deadLetterSubject(prefix: string, region: string, consumer: string, eventSubject: string): string {
  const entity = eventSubject.split('.').slice(-2).join('.');
  return `${prefix}.dlq.${region}.${subjectToken(consumer)}.${entity}`;
}
