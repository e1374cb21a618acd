// `npm run bench -- --only events`: the event system on PostgreSQL, over JetStream (127.0.0.1:4222) and the
// in-process bus. (1) A catalog write through the gateway (suspendTenant / reinstateTenant, one at a time) until
// every region's tenants-directory cache has applied it: p50/p99 per region and of the slowest region, at the
// relay's default poll and at a short one. (2) Webhook delivery throughput: events committed in a region's outbox
// until every delivery to a local endpoint (answering 204) is delivered, at the default concurrency.
import { sql } from 'drizzle-orm';
import { gatewayEnv } from '../gateway/env.js';
import { subgraphTenantDirectory } from '../gateway/tenant-directory.js';
import { startDirectoryInvalidation } from '../gateway/tenant-invalidation.js';
import type { EventBus } from '../runtime/events/bus.js';
import type { EventsSettings } from '../runtime/events/settings.js';
import { loadEvents, rowsOf } from '../subgraphs/index.js';
import { deleteStreamsOf, openTestBus, testPrefix, type BusKind } from '../test/fixtures/events.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from '../test/fixtures/stack.js';
import { startWebhookReceiver } from '../test/fixtures/webhook-receiver.js';
import { progress } from './harness/progress.js';
import { percentile, report } from './report.js';

const { startDatabaseRelay, startWebhookWorkers, webhookSettings, recordRegionalEvent } = await loadEvents();
const regions = ['us', 'eu', 'apac', 'latam'];
const writes = 100;
const webhookEvents = 2_000;
const settingsOf = (pollMs: number): EventsSettings => ({ natsUrl: undefined, prefix: testPrefix(), duplicateWindowMs: 600_000, maxAttempts: 5, pollMs });
const ms = (n: number) => n.toFixed(1);

async function invalidationLatency(t: TestStack, bus: EventBus, pollMs: number) {
  const settings = settingsOf(pollMs);
  const relay = startDatabaseRelay({ database: t.stack.databases.get('catalog')!, scope: 'catalog', region: 'us', bus, settings });
  const env = gatewayEnv({});
  const catalogUrls = t.stack.config.subgraphs.find((s) => s.name === 'catalog')!.urls;
  const applied = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const consumers = await Promise.all(
    regions.map((region) => {
      const directory = subgraphTenantDirectory({ urls: [catalogUrls[region]!], secret: env.subgraphSecrets.current, ttlMs: 3_600_000, notFoundTtlMs: 1_000, timeoutMs: 5_000 });
      return startDirectoryInvalidation({
        bus,
        settings,
        region,
        instance: 'bench',
        directory: () => directory,
        onApplied: (event) => {
          applied.set(`${region}/${String(event.data.status)}`, performance.now());
          waiting.get(String(event.data.status))?.();
        },
      });
    }),
  );
  const operator = await devToken('globex', 'usr_globex_1', { roles: ['platform-operator'] });
  const perRegion = new Map<string, number[]>(regions.map((r) => [r, []]));
  const slowest: number[] = [];
  for (let i = 0; i < writes; i += 1) {
    const status = i % 2 === 0 ? 'suspended' : 'active';
    for (const region of regions) applied.delete(`${region}/${status}`);
    const everywhere = new Promise<void>((resolve) => waiting.set(status, () => regions.every((r) => applied.has(`${r}/${status}`)) && resolve()));
    const started = performance.now();
    const answer = await postGraphQL(t.graphqlUrl, `mutation { ${status === 'suspended' ? 'suspendTenant' : 'reinstateTenant'}(id: "umbrella") { id } }`, { token: operator });
    if (answer.body.errors) throw new Error(`the write failed: ${JSON.stringify(answer.body.errors)}`);
    await everywhere;
    const latencies = regions.map((r) => applied.get(`${r}/${status}`)! - started);
    regions.forEach((r, index) => perRegion.get(r)!.push(latencies[index]!));
    slowest.push(Math.max(...latencies));
    // Writes one right after another would lock in step with the relay's poll: a random gap spreads them over it.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * pollMs));
  }
  await Promise.all(consumers.map((c) => c.stop()));
  await relay.stop();
  await deleteStreamsOf(bus, settings.prefix);
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
  };
  return { slowest: stats(slowest), perRegion: Object.fromEntries(regions.map((r) => [r, stats(perRegion.get(r)!)])) };
}

async function webhookThroughput(t: TestStack, bus: EventBus) {
  const settings = settingsOf(100);
  const eu = t.stack.databases.get('eu')!;
  const receiver = await startWebhookReceiver(() => 204);
  const defaults = webhookSettings({});
  const webhooks = { ...defaults, allow: { loopback: true, private: false, http: true }, pollMs: 20 };
  await eu.db.execute(sql`delete from webhook_endpoints`);
  await eu.db.execute(sql`insert into webhook_endpoints (id, tenant_id, url, events, secret) values ('whe_bench', 'acme', ${`${receiver.url}/hook`}, array['users.profile.updated'], ${`whsec_${Buffer.from('a bench secret of 24 byte').toString('base64')}`})`);
  const relay = startDatabaseRelay({ database: eu, scope: 'regional', region: 'eu', bus, settings });
  const workers = await startWebhookWorkers({ database: eu, region: 'eu', bus, settings, webhooks });
  const started = performance.now();
  await eu.db.transaction(async (tx) => {
    for (let i = 0; i < webhookEvents; i += 1) await recordRegionalEvent(tx as never, { type: 'users.profile.updated', region: 'eu', tenantId: 'acme', data: { userId: `usr_acme_${(i % 3) + 1}`, tenantId: 'acme', name: `n${i}` } });
  });
  for (;;) {
    const [row] = await rowsOf<{ n: number }>(eu.db, sql`select count(*)::int as n from webhook_deliveries where status = 'delivered'`);
    if (row!.n >= webhookEvents) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1_000;
  await workers.stop();
  await relay.stop();
  await receiver.stop();
  await deleteStreamsOf(bus, settings.prefix);
  return { deliveries: webhookEvents, seconds, perSecond: webhookEvents / seconds, concurrency: webhooks.concurrency, received: receiver.received.length };
}

const rows: Record<string, unknown>[] = [];
const latencyLines: string[] = [];
const webhookLines: string[] = [];
for (const kind of ['jetstream', 'memory'] satisfies BusKind[]) {
  progress(`${kind}: starting the stack on PostgreSQL`);
  const t = await startTestStack('postgres');
  const bus = await openTestBus(kind);
  try {
    for (const pollMs of [100, 10]) {
      progress(`${kind}: ${writes} catalog writes, relay poll ${pollMs} ms`);
      const result = await invalidationLatency(t, bus, pollMs);
      rows.push({ kind, pollMs, ...result });
      latencyLines.push(`| ${kind} | ${pollMs} | ${ms(result.slowest.p50)} | ${ms(result.slowest.p99)} | ${regions.map((r) => `${ms(result.perRegion[r]!.p50)} / ${ms(result.perRegion[r]!.p99)}`).join(' | ')} |`);
    }
    progress(`${kind}: ${webhookEvents} webhook deliveries`);
    const webhooks = await webhookThroughput(t, bus);
    rows.push({ kind, webhooks });
    webhookLines.push(`| ${kind} | ${webhooks.deliveries} | ${webhooks.concurrency} | ${webhooks.seconds.toFixed(2)} | ${webhooks.perSecond.toFixed(0)} |`);
  } finally {
    await bus.close();
    await t.stop();
  }
}
const table = [
  `Catalog write (through the gateway) → every region's tenants-directory cache applied it, ${writes} writes one at a time, ms:`,
  '',
  `| bus | relay poll (ms) | all regions p50 | all regions p99 | ${regions.map((r) => `${r} p50 / p99`).join(' | ')} |`,
  `| --- | --- | --- | --- | ${regions.map(() => '---').join(' | ')} |`,
  ...latencyLines,
  '',
  `Webhook delivery throughput: ${webhookEvents} events committed in eu's outbox → every delivery to a loopback endpoint delivered (signed, logged):`,
  '',
  '| bus | deliveries | concurrency | seconds | deliveries/s |',
  '| --- | --- | --- | --- | --- |',
  ...webhookLines,
].join('\n');
report('events', 'Events: catalog invalidation latency and webhook throughput', table, rows);
