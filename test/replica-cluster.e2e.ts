import { connect } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicaCluster, type ReplicaCluster } from '../dev/replica-cluster.js';

const DATABASE = 'replica_cluster_test';

async function query<T extends object>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return [...(await sql.unsafe<T[]>(text))];
  } finally {
    await sql.end();
  }
}

const notes = async (url: string) => (await query<{ body: string }>(url, 'select body from notes order by id')).map((row) => row.body);

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('replica cluster fixture', () => {
  let cluster: ReplicaCluster;
  let ports: number[] = [];

  beforeAll(async () => {
    cluster = await startReplicaCluster(['us', 'eu']);
    ports = [cluster.primary.port, ...Object.values(cluster.replicas).map((replica) => replica.port)];
    await cluster.createDatabase(DATABASE);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs a primary and streaming replicas on their own ports, never 5432', async () => {
    expect(Object.keys(cluster.replicas)).toEqual(['us', 'eu']);
    expect(new Set(ports).size).toBe(3);
    expect(ports).not.toContain(5432);
    for (const server of [cluster.primary, cluster.replicas.us!, cluster.replicas.eu!]) {
      const [row] = await query<{ port: number; recovering: boolean }>(
        server.url(DATABASE),
        'select inet_server_port() as port, pg_is_in_recovery() as recovering',
      );
      expect(row).toEqual({ port: server.port, recovering: server !== cluster.primary });
    }
  });

  it('replays writes of the primary on every replica', async () => {
    await query(cluster.primary.url(DATABASE), `create table notes (id serial primary key, body text not null)`);
    await query(cluster.primary.url(DATABASE), `insert into notes (body) values ('first')`);
    await cluster.waitForReplay();
    expect(await notes(cluster.replicas.us!.url(DATABASE))).toEqual(['first']);
    expect(await notes(cluster.replicas.eu!.url(DATABASE))).toEqual(['first']);
    await expect(query(cluster.replicas.us!.url(DATABASE), `insert into notes (body) values ('nope')`)).rejects.toThrow(/read-only/);
  });

  it('holds a paused replica back while the others keep replaying', async () => {
    await cluster.pauseReplay('eu');
    await query(cluster.primary.url(DATABASE), `insert into notes (body) values ('second')`);
    await cluster.waitForReplay();
    expect(await notes(cluster.replicas.us!.url(DATABASE))).toEqual(['first', 'second']);
    expect(await notes(cluster.replicas.eu!.url(DATABASE))).toEqual(['first']);

    await cluster.resumeReplay('eu');
    await cluster.waitForReplay();
    expect(await notes(cluster.replicas.eu!.url(DATABASE))).toEqual(['first', 'second']);
  });

  it('stops a replica and brings it back on the same port', async () => {
    const port = cluster.replicas.us!.port;
    await cluster.stopServer('us');
    expect(await acceptsConnections(port)).toBe(false);
    await query(cluster.primary.url(DATABASE), `insert into notes (body) values ('while us was down')`);
    await cluster.waitForReplay(); // skips the stopped replica

    await cluster.startServer('us');
    expect(cluster.replicas.us!.port).toBe(port);
    await cluster.waitForReplay();
    expect(await notes(cluster.replicas.us!.url(DATABASE))).toEqual(['first', 'second', 'while us was down']);
  });

  it('rejects bad names with a clear error', async () => {
    await expect(cluster.stopServer('mars')).rejects.toThrow(/No server named "mars"/);
    await expect(cluster.pauseReplay('primary')).rejects.toThrow(/primary replays no WAL/);
    await expect(startReplicaCluster(['primary'])).rejects.toThrow(/Invalid replica name/);
    await expect(startReplicaCluster(['us', 'us'])).rejects.toThrow(/Duplicate replica names/);
  });

  it('stops every server it started, and stop() can be called twice', async () => {
    await cluster.stop();
    await cluster.stop();
    for (const port of ports) expect(await acceptsConnections(port)).toBe(false);
  });
});
