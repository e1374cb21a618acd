import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBus } from '../runtime/events/bus.js';
import type { EventsSettings } from '../runtime/events/settings.js';
import { startDatabaseRelay, startWebhookWorkers } from '../subgraphs/events.js';
import type { WebhookSettings } from '../subgraphs/users/webhooks/settings.js';
import { deleteStreamsOf, openTestBus, testPrefix, type BusKind } from './fixtures/events.js';
import { devToken, postGraphQL, rowsAsOwner, startTestStack, type Driver, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.js';

// Issue 17, "Webhooks": endpoints registered by a tenant's admin in its home region, deliveries signed as Standard
// Webhooks says, retried on the configured schedule (a small base delay here), dead after the last attempt and
// replayable, a delivery log per endpoint, and no endpoint reachable in another tenant's name.
const retry = { maxAttempts: 3, baseMs: 60, maxMs: 10_000, jitter: 0.25 };
const webhooks: WebhookSettings = { allow: { loopback: true, private: false, http: true }, retry, timeoutMs: 2_000, concurrency: 4, pollMs: 20 };

interface AttemptRow { attempt: number; started_ms: number; status_code: number | null; latency_ms: number; retry_delay_ms: number | null }

// JetStream with PostgreSQL, the in-process bus with PGlite: the worker's SQL runs on both drivers.
describe.each<[BusKind, Driver]>([['jetstream', 'postgres'], ['memory', 'pglite']])('webhooks over the %s bus, on %s', (kind, driver) => {
  let t: TestStack;
  let bus: EventBus;
  let receiver: WebhookReceiver;
  const stops: (() => Promise<void>)[] = [];
  const events: EventsSettings = { natsUrl: undefined, prefix: testPrefix(), duplicateWindowMs: 60_000, maxAttempts: 3, pollMs: 10 };
  const previousAllow = process.env.GEOFED_WEBHOOK_ALLOW;
  let admin: string;

  const gql = async (query: string, token: string, variables?: Record<string, unknown>) => (await postGraphQL(t.graphqlUrl, query, { token, ...(variables ? { variables } : {}) })).body;
  const register = async (path: string, types: string[], token = admin) => {
    const answer = await gql('mutation($url: String!, $events: [String!]!) { registerWebhook(url: $url, events: $events) { id url events secret } }', token, { url: `${receiver.url}${path}`, events: types });
    return answer.data?.registerWebhook as { id: string; url: string; events: string[]; secret: string };
  };
  const logOf = async (endpointId: string) => {
    const answer = await gql('{ webhooks { id deliveries { id eventType status attempts { attempt statusCode error latencyMs } } } }', admin);
    return (answer.data?.webhooks as { id: string; deliveries: { id: string; eventType: string; status: string; attempts: { attempt: number; statusCode: number | null }[] }[] }[]).find((w) => w.id === endpointId)!.deliveries;
  };
  const renameAcme = (name: string) => postGraphQL(t.graphqlUrl, `mutation { updateProfile(name: "${name}") { name } }`, { token: acmeUser });
  let acmeUser: string;

  beforeAll(async () => {
    // What registerWebhook accepts in the stack's users subgraph: the receiver is on loopback, over plain HTTP.
    process.env.GEOFED_WEBHOOK_ALLOW = 'loopback,http';
    bus = await openTestBus(kind);
    t = await startTestStack(driver);
    receiver = await startWebhookReceiver((path, nth) => (path === '/flaky' ? (nth <= 2 ? 500 : 204) : path === '/down' ? (nth <= 3 ? 503 : 200) : 200));
    const eu = t.stack.databases.get('eu')!;
    const relay = startDatabaseRelay({ database: eu, scope: 'regional', region: 'eu', bus, settings: events });
    stops.push(() => relay.stop());
    const workers = await startWebhookWorkers({ database: eu, region: 'eu', bus, settings: events, webhooks });
    stops.push(() => workers.stop());
    admin = await devToken('acme', 'usr_acme_1', { roles: ['admin'] });
    acmeUser = await devToken('acme', 'usr_acme_2');
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await receiver?.stop();
    await t?.stop();
    if (bus) await deleteStreamsOf(bus, events.prefix);
    await bus?.close();
    if (previousAllow === undefined) delete process.env.GEOFED_WEBHOOK_ALLOW;
    else process.env.GEOFED_WEBHOOK_ALLOW = previousAllow;
  });

  it('retries an endpoint that fails twice on the configured schedule, and its third attempt carries a verified signature', async () => {
    const endpoint = await register('/flaky', ['users.profile.updated']);
    expect(endpoint).toMatchObject({ url: `${receiver.url}/flaky`, events: ['users.profile.updated'], secret: expect.stringMatching(/^whsec_/) });
    const name = `Hooked ${randomUUID().slice(0, 6)}`;
    expect((await renameAcme(name)).body.data).toEqual({ updateProfile: { name } });
    await waitFor(async () => (await logOf(endpoint.id))[0]?.status, { until: (s) => s === 'DELIVERED', what: 'the delivery succeeded', timeoutMs: 15_000 });
    const requests = receiver.at('/flaky');
    expect(requests.map((r) => r.status)).toEqual([500, 500, 204]);
    // One delivery: the same webhook-id on every attempt, each signed with the endpoint's secret.
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const verifier = new Webhook(endpoint.secret);
    const payloads = requests.map((r) => verifier.verify(r.body, { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) }));
    expect(payloads[2]).toEqual({ type: 'users.profile.updated', timestamp: expect.any(String), data: { userId: 'usr_acme_2', tenantId: 'acme', name } });
    expect(() => new Webhook(`whsec_${Buffer.from('another secret of 24 bytes!').toString('base64')}`).verify(requests[2]!.body, requests[2]!.headers as Record<string, string>)).toThrow();
    // The schedule: the wait drawn after attempt n is within the jitter of base·2^(n−1), and attempt n+1 never starts before it ends.
    const [delivery] = await logOf(endpoint.id);
    expect(delivery!.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([[1, 500], [2, 500], [3, 204]]);
    const attempts = await rowsAsOwner<AttemptRow>(t.stack, 'eu', sql`select attempt, (extract(epoch from started_at) * 1000)::float8 as started_ms, status_code, latency_ms, retry_delay_ms from webhook_attempts where delivery_id = ${delivery!.id} order by attempt`);
    for (const [index, row] of attempts.slice(0, 2).entries()) {
      const scheduled = retry.baseMs * 2 ** index;
      expect(row.retry_delay_ms!, `wait after attempt ${row.attempt}`).toBeGreaterThanOrEqual(Math.floor(scheduled * (1 - retry.jitter)));
      expect(row.retry_delay_ms!, `wait after attempt ${row.attempt}`).toBeLessThanOrEqual(Math.ceil(scheduled * (1 + retry.jitter)));
      const next = attempts[index + 1]!;
      // Latency is rounded to the millisecond: one of slack.
      expect(next.started_ms, `start of attempt ${next.attempt}`).toBeGreaterThanOrEqual(row.started_ms + row.latency_ms + row.retry_delay_ms! - 1);
    }
    expect(attempts[2]!.retry_delay_ms).toBeNull();
  });

  it('moves a delivery to dead after its last attempt, and replays it', async () => {
    const endpoint = await register('/down', ['orders.order.placed']);
    const placed = await postGraphQL(t.graphqlUrl, 'mutation { placeOrder(items: [{ productId: "prd_03", quantity: 1 }]) { id } }', { token: acmeUser });
    const orderId = (placed.body.data?.placeOrder as { id: string }).id;
    await waitFor(async () => (await logOf(endpoint.id))[0]?.status, { until: (s) => s === 'DEAD', what: 'the delivery died', timeoutMs: 15_000 });
    const [dead] = await logOf(endpoint.id);
    expect(dead!.attempts.map((a) => a.statusCode)).toEqual([503, 503, 503]);
    const replayed = await gql('mutation($id: ID!) { replayWebhookDelivery(id: $id) { status } }', admin, { id: dead!.id });
    expect(replayed.data).toEqual({ replayWebhookDelivery: { status: 'PENDING' } });
    await waitFor(async () => (await logOf(endpoint.id))[0]?.status, { until: (s) => s === 'DELIVERED', what: 'the replayed delivery succeeded', timeoutMs: 15_000 });
    const [delivered] = await logOf(endpoint.id);
    expect(delivered!.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([[1, 503], [2, 503], [3, 503], [4, 200]]);
    expect(JSON.parse(receiver.at('/down')[3]!.body)).toMatchObject({ type: 'orders.order.placed', data: { orderId, tenantId: 'acme' } });
    // A delivery not dead is not replayed.
    const again = await gql('mutation($id: ID!) { replayWebhookDelivery(id: $id) { status } }', admin, { id: dead!.id });
    expect(again.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
  });

  it('refuses an endpoint in another tenant\'s name, and webhooks to anyone but the tenant\'s admin', async () => {
    const endpoint = await register('/acme-only', ['users.profile.updated']);
    // Another tenant of the same region, with its own admin.
    const other = `hooli_${randomUUID().slice(0, 8)}`;
    await rowsAsOwner(t.stack, 'catalog', sql`insert into tenants (id, name, region, plan) values (${other}, 'Hooli', 'eu', 'free')`);
    const otherAdmin = await devToken(other, `usr_${other}_1`, { roles: ['admin'] });
    expect((await gql('{ webhooks { id } }', otherAdmin)).data).toEqual({ webhooks: [] });
    const deleted = await gql('mutation($id: ID!) { deleteWebhook(id: $id) }', otherAdmin, { id: endpoint.id });
    expect(deleted.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    const notAdmin = await gql('mutation($url: String!) { registerWebhook(url: $url, events: ["users.profile.updated"]) { id } }', acmeUser, { url: `${receiver.url}/x` });
    expect(notAdmin.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(((await gql('{ webhooks { id } }', admin)).data?.webhooks as { id: string }[]).map((w) => w.id)).toContain(endpoint.id);
    expect((await gql('mutation($id: ID!) { deleteWebhook(id: $id) }', admin, { id: endpoint.id })).data).toEqual({ deleteWebhook: true });
  });

  it('refuses a URL that reaches an address webhooks may not, and an unknown event type', async () => {
    const refused = async (url: string, types = ['users.profile.updated']) => {
      const answer = await gql('mutation($url: String!, $events: [String!]!) { registerWebhook(url: $url, events: $events) { id } }', admin, { url, events: types });
      return answer.errors?.map((e) => [e.extensions?.code, e.message]);
    };
    expect(await refused('http://169.254.169.254/latest/meta-data')).toEqual([['BAD_USER_INPUT', 'The webhook URL is refused: the URL\'s host 169.254.169.254 is a link-local, unspecified, multicast or reserved address.']]);
    expect(await refused('http://10.1.2.3/hook')).toEqual([['BAD_USER_INPUT', 'The webhook URL is refused: the URL\'s host 10.1.2.3 is a private address.']]);
    expect(await refused('http://[::ffff:a01:203]/hook')).toEqual([['BAD_USER_INPUT', 'The webhook URL is refused: the URL\'s host ::ffff:a01:203 is a private address.']]);
    expect(await refused('ftp://example.com/hook')).toEqual([['BAD_USER_INPUT', 'The webhook URL is refused: the URL must be https (got ftp).']]);
    expect(await refused(`${receiver.url}/x`, ['users.password.leaked'])).toEqual([['BAD_USER_INPUT', '"users.password.leaked" is not an event type (docs/events.md).']]);
  });
});
