import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalStream, streamsOf } from '../protocol/event-routing.js';
import type { EventEnvelope } from '../protocol/events.js';
import { encodeJson, type EventBus } from '../runtime/events/bus.js';
import { startConsumer, type RunningConsumer } from '../runtime/events/consumer.js';
import { deleteStreamsOf, natsUrl, openTestBus, testPrefix } from './fixtures/events.js';
import { waitFor } from './fixtures/wait.js';

// Issue 17, "Dead letters": `npx geofed events dlq list` shows them and `npx geofed events dlq replay <id>` replays
// one, against the real JetStream.
const run = promisify(execFile);
const prefix = testPrefix();

async function geofed(args: string[], env: NodeJS.ProcessEnv = { GEOFED_NATS_URL: natsUrl, GEOFED_EVENTS_PREFIX: prefix }) {
  const done = await run(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'events', ...args], { env: { ...process.env, GEOFED_NATS_URL: '', ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  return { code: done.code, stdout: done.stdout, stderr: done.stderr };
}

describe('geofed events dlq', () => {
  let bus: EventBus;
  let consumer: RunningConsumer;
  let fixed = false;
  const handled: string[] = [];
  const event: EventEnvelope = { id: '0e6bdbd2-7a55-4e7c-9d55-9d1c4a0c2f10', type: 'catalog.product.upserted', dataClass: 'global', region: null, tenantId: null, entity: 'product:prd_cli', occurredAt: new Date().toISOString(), data: { id: 'prd_cli', name: 'Dead', priceCents: 1, currency: 'USD' } };

  beforeAll(async () => {
    bus = await openTestBus('jetstream');
    await bus.ensureStreams(streamsOf({ prefix, regions: ['eu', 'us'], duplicateWindowMs: 60_000 }));
    consumer = await startConsumer({
      bus,
      prefix,
      region: 'eu',
      name: 'cache-eu',
      stream: globalStream(prefix),
      maxAttempts: 2,
      retryDelayMs: () => 1,
      handle: async (e) => {
        if (!fixed) throw new Error('the handler is broken');
        handled.push(e.id);
      },
    });
    await bus.publish(`${prefix}.global.product.prd_cli`, encodeJson(event), event.id);
    await waitFor(() => consumer.counts.deadLettered === 1, { what: 'the event was dead-lettered', timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await consumer?.stop();
    if (bus) await deleteStreamsOf(bus, prefix);
    await bus?.close();
  });

  it('lists a region\'s dead letters, and every region\'s', async () => {
    const text = await geofed(['dlq', 'list', '--region', 'eu']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^eu 1\\tcache-eu\\tcatalog.product.upserted\\tproduct:prd_cli\\tat ${globalStream(prefix)}#1\\t2 attempts\\t\\S+\\tError: the handler is broken\\n$`));
    const json = await geofed(['dlq', 'list', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id: 1, region: 'eu', consumer: 'cache-eu', streamSeq: 1, attempts: 2, event })]);
    expect(await geofed(['dlq', 'list', '--region', 'us'])).toEqual({ code: 0, stdout: 'no dead letters in us\n', stderr: '' });
  });

  it('replays a dead letter to the consumer that gave up on it, once', async () => {
    fixed = true;
    const replayed = await geofed(['dlq', 'replay', '1', '--region', 'eu']);
    expect(replayed).toEqual({ code: 0, stdout: `replayed dead letter 1 of eu: event ${event.id} (catalog.product.upserted) to ${globalStream(prefix)}, for cache-eu\n`, stderr: '' });
    await waitFor(() => handled.length === 1, { what: 'the replayed event was handled', timeoutMs: 10_000 });
    expect(handled).toEqual([event.id]);
    expect((await geofed(['dlq', 'replay', '1', '--region', 'eu'])).stdout).toMatch(/was replayed before/);
    expect(await geofed(['dlq', 'replay', '7', '--region', 'eu'])).toMatchObject({ code: 1, stderr: expect.stringContaining('no dead letter 7 in') });
  });

  it('says what is wrong with a command, without a stack', async () => {
    expect(await geofed(['dlq', 'replay', '1'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^geofed events: replay needs --region/) });
    expect(await geofed(['dlq', 'purge'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^geofed events: no dlq action "purge"/) });
    expect(await geofed(['dlq', 'list'], {})).toMatchObject({ code: 1, stderr: expect.stringMatching(/^geofed events: GEOFED_NATS_URL is not set/) });
  });
});
