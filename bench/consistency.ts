import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { request } from 'undici';
import { startReplicaCluster } from '../dev/replica-cluster.js';
import { clientHeaders } from '../protocol/headers.js';
import { devToken, startTestStack } from '../test/fixtures/stack.js';
import { percentile, report } from './report.js';

// What the read-your-writes check costs: catalog reads through the gateway with and without a
// consistency token, on a real streaming replica that has already replayed the write (the common case).
// `npm run bench -- --only consistency [--reads 1000]`
const { values } = parseArgs({ allowPositionals: true, strict: false, options: { reads: { type: 'string', default: '1000' } } });
const reads = Number(values.reads);

const cluster = await startReplicaCluster(['us']);
try {
  await cluster.createDatabase('geofed_catalog');
  const t = await startTestStack('postgres', { catalog: { primary: cluster.primary.url('geofed_catalog'), replicas: { us: cluster.replicas.us!.url('geofed_catalog') } } });
  try {
    await cluster.waitForReplay();
    const admin = await devToken('globex', 'usr_globex_1', { roles: ['platform-operator'] });
    const write = await request(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: 'mutation { upsertProduct(id: "prd_01", name: "Anvil", priceCents: 499) { id } }' }),
    });
    const token = String(write.headers[clientHeaders.consistency]);
    await write.body.dump();
    await cluster.waitForReplay();
    const body = JSON.stringify({ query: '{ product(id: "prd_01") { name priceCents } }' });
    const sample = async (headers: Record<string, string>) => {
      const samples: number[] = [];
      for (let i = 0; i < reads / 4 + 100; i += 1) {
        const started = process.hrtime.bigint();
        const response = await request(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        await response.body.text();
        if (response.statusCode !== 200) throw new Error(`read failed: ${response.statusCode}`);
        if (i >= 100) samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      return samples.sort((a, b) => a - b);
    };
    // Interleaved rounds, so drift on a shared machine hits both sides alike.
    const plain: number[] = [];
    const checked: number[] = [];
    for (let round = 0; round < 4; round += 1) {
      plain.push(...(await sample({})));
      checked.push(...(await sample({ [clientHeaders.consistency]: token })));
    }
    plain.sort((a, b) => a - b);
    checked.sort((a, b) => a - b);
    const lag = await replicationLag(cluster.primary.url('geofed_catalog'), cluster.replicas.us!.url('geofed_catalog'));
    const rows = [
      { reads: 'without token', median: percentile(plain, 0.5), p99: percentile(plain, 0.99) },
      { reads: 'with token (replica caught up)', median: percentile(checked, 0.5), p99: percentile(checked, 0.99) },
      { reads: 'replication lag: commit on primary → replayed on replica', median: percentile(lag, 0.5), p99: percentile(lag, 0.99) },
    ];
    const table = [
      '| catalog reads through the gateway | median ms | p99 ms |',
      '|---|---|---|',
      ...rows.slice(0, 2).map((r) => `| ${r.reads} | ${r.median.toFixed(3)} | ${r.p99.toFixed(3)} |`),
      `| consistency check adds (median) | ${(rows[1]!.median - rows[0]!.median).toFixed(3)} | |`,
      `| ${rows[2]!.reads} (200 writes) | ${rows[2]!.median.toFixed(3)} | ${rows[2]!.p99.toFixed(3)} |`,
    ].join('\n');
    report('consistency', `read-your-writes check, ${reads} reads each way (4 interleaved rounds) on a PostgreSQL streaming replica`, table, rows);
  } finally {
    await t.stop();
  }
} finally {
  await cluster.stop();
}
process.exit(0);

/** Milliseconds from a committed write on the primary until the replica has replayed it, over 200 writes. */
async function replicationLag(primaryUrl: string, replicaUrl: string): Promise<number[]> {
  const primary = postgres(primaryUrl, { max: 1, onnotice: () => {} });
  const replica = postgres(replicaUrl, { max: 1, onnotice: () => {} });
  try {
    const samples: number[] = [];
    for (let i = 0; i < 200; i += 1) {
      await primary`update products set price_cents = price_cents where id = 'prd_01'`;
      const started = process.hrtime.bigint();
      const [{ lsn }] = (await primary`select pg_current_wal_insert_lsn()::text as lsn`) as unknown as [{ lsn: string }];
      for (;;) {
        const [{ replayed }] = (await replica`select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as replayed`) as unknown as [{ replayed: boolean }];
        if (replayed) break;
      }
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return samples.sort((a, b) => a - b);
  } finally {
    await primary.end();
    await replica.end();
  }
}
