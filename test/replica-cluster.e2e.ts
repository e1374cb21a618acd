import { randomBytes } from 'node:crypto';
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

/** A notes table of the calling test's own, created on the primary: no test reads rows another test wrote. */
async function notesTable(cluster: ReplicaCluster) {
  const table = `notes_${randomBytes(4).toString('hex')}`;
  await query(cluster.primary.url(DATABASE), `create table ${table} (id serial primary key, body text not null)`);
  type Server = ReplicaCluster['primary'];
  const insertInto = (server: Server, body: string) => query(server.url(DATABASE), `insert into ${table} (body) values ('${body}')`);
  return {
    insertInto,
    add: (body: string) => insertInto(cluster.primary, body),
    on: async (server: Server) => (await query<{ body: string }>(server.url(DATABASE), `select body from ${table} order by id`)).map((row) => row.body),
  };
}

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
    const notes = await notesTable(cluster);
    await notes.add('first');
    await cluster.waitForReplay();
    expect(await notes.on(cluster.replicas.us!)).toEqual(['first']);
    expect(await notes.on(cluster.replicas.eu!)).toEqual(['first']);
    await expect(notes.insertInto(cluster.replicas.us!, 'nope')).rejects.toThrow(/read-only/);
  });

  it('holds a paused replica back while the others keep replaying', async () => {
    const notes = await notesTable(cluster);
    await notes.add('first');
    await cluster.waitForReplay();
    await cluster.pauseReplay('eu');
    try {
      await notes.add('second');
      await cluster.waitForReplay();
      expect(await notes.on(cluster.replicas.us!)).toEqual(['first', 'second']);
      expect(await notes.on(cluster.replicas.eu!)).toEqual(['first']);
    } finally {
      await cluster.resumeReplay('eu');
    }
    await cluster.waitForReplay();
    expect(await notes.on(cluster.replicas.eu!)).toEqual(['first', 'second']);
  });

  it('stops a replica and brings it back on the same port', async () => {
    const notes = await notesTable(cluster);
    await notes.add('first');
    await cluster.waitForReplay();
    const port = cluster.replicas.us!.port;
    await cluster.stopServer('us');
    try {
      expect(await acceptsConnections(port)).toBe(false);
      await notes.add('while us was down');
      await cluster.waitForReplay(); // skips the stopped replica
    } finally {
      await cluster.startServer('us');
    }
    expect(cluster.replicas.us!.port).toBe(port);
    await cluster.waitForReplay();
    expect(await notes.on(cluster.replicas.us!)).toEqual(['first', 'while us was down']);
  });

  it('rejects bad names with a clear error', async () => {
    await expect(cluster.stopServer('mars')).rejects.toThrow(/No server named "mars"/);
    await expect(cluster.pauseReplay('primary')).rejects.toThrow(/primary replays no WAL/);
    await expect(startReplicaCluster(['primary'])).rejects.toThrow(/Invalid replica name/);
    await expect(startReplicaCluster(['us', 'us'])).rejects.toThrow(/Duplicate replica names/);
  });

  it('stops every server it started, and stop() can be called twice', async () => {
    // A cluster of its own: stopping the shared one would break any test that runs after this one.
    const own = await startReplicaCluster(['us']);
    const ownPorts = [own.primary.port, own.replicas.us!.port];
    try {
      for (const port of ownPorts) expect(await acceptsConnections(port)).toBe(true);
      await own.stop();
      await own.stop();
      for (const port of ownPorts) expect(await acceptsConnections(port)).toBe(false);
    } finally {
      await own.stop();
    }
  });
});
