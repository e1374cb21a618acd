import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';

// geofed with one gateway process per worker (node's cluster module) on one port: the primary only
// accepts connections and hands them to the workers in turn. `geofed-cluster-main.ts N CLI ARGS…`
// forks N workers that each run `CLI ARGS…` (cli/geofed.ts gateway …) with PORT set to a port the
// primary chose, prints `ready URL` once every worker serves, and stops them all when signalled.
const [count, cli, ...args] = process.argv.slice(2);
const workers = Number(count);
if (!cluster.isPrimary || !cli || !Number.isInteger(workers) || workers < 1) {
  console.error('usage: geofed-cluster-main.ts N CLI ARGS…');
  process.exit(2);
}

// A free port, chosen here: every worker listens on it, and the primary shares it among them.
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address() as AddressInfo;
    probe.close(() => resolve(free));
  });
});

cluster.setupPrimary({ exec: cli, args, execArgv: ['--import', 'tsx'], silent: true });
const forked: Worker[] = [];
await Promise.all(
  Array.from({ length: workers }, () => {
    const worker = cluster.fork({ PORT: String(port) });
    forked.push(worker);
    return new Promise<void>((resolve, reject) => {
      createInterface({ input: worker.process.stderr! }).on('line', (line) => console.error(line));
      createInterface({ input: worker.process.stdout! }).on('line', (line) => {
        if (line.includes(' serving ')) resolve();
      });
      worker.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it served`)));
    });
  }),
).catch((error: unknown) => {
  console.error((error as Error).message);
  for (const worker of forked) worker.process.kill('SIGKILL');
  process.exit(1);
});
console.log(`ready http://127.0.0.1:${port}/graphql`);

const stop = async () => {
  await Promise.all(forked.map((worker) => new Promise<void>((resolve) => {
    if (worker.isDead()) return resolve();
    worker.once('exit', () => resolve());
    worker.process.kill('SIGTERM');
  })));
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
