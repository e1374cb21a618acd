import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { parseCommandArgs, runCommand, UsageError, type Command } from '../runtime/command.js';
import { SettingsError } from '../runtime/settings.js';
import { catalogDatabaseVariable, regionDatabaseVariable, subgraphNames } from '../subgraphs/index.js';

const usage = `usage: npm run region -- <region>
  Starts what one region runs, each as its own process as a team deploys it: the region's
  catalog instance, users, orders and its gateway. Needs PostgreSQL: ${catalogDatabaseVariable}
  (the catalog primary every region shares) and GEOFED_DATABASE_URL_<REGION>.`;

/** How long a process may take to say it is serving. */
const startDeadlineMs = 60_000;

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Settles when the process has exited. */
  readonly done: Promise<void>;
}

/**
 * `npm run region -- eu`: the region's deployables, each in a process of its
 * own (`npm run subgraph` three times, then `npm run gateway`), with their
 * output prefixed. Ctrl-C or SIGTERM stops them all; any of them exiting
 * stops the others.
 */
const regionCommand: Command = {
  usage,
  async run(args) {
    const { positionals } = parseCommandArgs(args, {}, true);
    const [region, ...extra] = positionals;
    if (region === undefined) throw new UsageError('a region is required');
    if (extra.length > 0) throw new UsageError(`one region only (got also ${extra.join(' ')})`);
    const env = gatewayEnv();
    const config = loadConfig(env.configPath, { ...process.env, GEOFED_REGION: region });
    const missing = [catalogDatabaseVariable, regionDatabaseVariable(region)].filter((variable) => !process.env[variable]);
    if (missing.length > 0) {
      throw new SettingsError(`a region's processes share their databases, and a PGlite folder belongs to one process: set ${missing.join(' and ')} (PostgreSQL URLs; the catalog primary is shared by every region). For the embedded database run everything in one process with \`npm start\`.`);
    }
    const children: Child[] = [];
    const stopAll = (signal: NodeJS.Signals) => {
      for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill(signal);
    };
    let stopping = false;
    const watch = (name: string, child: ChildProcess) =>
      new Promise<void>((resolve) =>
        child.once('exit', (code, signal) => {
          if (!stopping) {
            console.error(`[${name}] exited (${signal ?? code}); stopping the region`);
            stopping = true;
            process.exitCode = 1;
            stopAll('SIGTERM');
          }
          resolve();
        }),
      );
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        stopping = true;
        stopAll('SIGTERM');
      });
    }
    const start = (name: string, script: string[], childEnv: NodeJS.ProcessEnv) => {
      const spawned = spawn(process.execPath, ['--import', 'tsx', ...script], { env: { ...process.env, ...childEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      const child: Child = { name, process: spawned, done: watch(name, spawned) };
      children.push(child);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} did not start within ${startDeadlineMs} ms`)), startDeadlineMs);
        for (const stream of [child.process.stdout!, child.process.stderr!]) {
          createInterface({ input: stream }).on('line', (line) => {
            (stream === child.process.stderr ? console.error : console.log)(`[${name}] ${line}`);
            const serving = /serving (http:\/\/\S+)/.exec(line);
            if (serving) {
              clearTimeout(timer);
              resolve(serving[1]!);
            }
          });
        }
        child.process.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited with ${code} before serving`));
        });
      });
    };
    const ended = () => Promise.all(children.map((child) => child.done));
    try {
      // The subgraphs all at once: orders prices new orders at its region's catalog instance, at request time, by
      // the URL its settings name, and users and orders migrate their shared database under its migration lock.
      await Promise.all(subgraphNames.map((name) => start(`${name} ${region}`, ['subgraphs/main.ts', name, '--region', region], {})));
      const url = await start(`gateway ${region}`, ['cli/geofed.ts', 'gateway'], { GEOFED_REGION: region });
      console.log(`\nregion ${region} is serving: ${url} (gateway port ${config.gateway.port}). Ctrl-C stops its four processes.`);
    } catch (error) {
      stopping = true;
      stopAll('SIGTERM');
      await ended();
      throw new SettingsError((error as Error).message);
    }
    await ended();
  },
};

await runCommand('region', regionCommand, process.argv.slice(2));
