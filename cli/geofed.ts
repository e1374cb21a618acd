#!/usr/bin/env -S node --max-semi-space-size=32
// The `geofed` command. Compiled to dist/cli/geofed.js (`npm run build`), it is the package's bin, shebang
// included: a gateway allocates short-lived objects per response (Apollo's result shaping), and a 32 MiB young
// generation per semi-space halves the scavenges of the default 16 MiB (docs/operations.md, "Node flags").
import type { Command } from '../runtime/command.js';
import { runCommand } from '../runtime/command.js';

interface Entry {
  readonly summary: string;
  /** Loaded only when the command runs: `geofed token` never loads the gateway. */
  readonly load: () => Promise<Command>;
}

const commands: Readonly<Record<string, Entry>> = {
  gateway: { summary: 'serve the gateway of one region (or any composed supergraph, drop-in)', load: async () => (await import('../gateway/command.js')).gatewayCommand },
  compose: { summary: 'compose the subgraphs of supergraph.yaml into the supergraph SDL', load: async () => (await import('../schema/compose-command.js')).composeCommand },
  check: { summary: 'schema checks: composition, staleness, breaking changes, residency, operations, cost', load: async () => (await import('../schema/check-command.js')).checkCommand },
  rollout: { summary: 'drive a version\'s rollout: start a canary, promote, roll back, status', load: async () => (await import('../gateway/rollout-command.js')).rolloutCommand },
  probe: { summary: 'synthetic probes through each region\'s gateway against the SLOs (`--watch` for metrics)', load: async () => (await import('./probe-command.js')).probeCommand },
  token: { summary: 'print a dev token for a tenant', load: async () => (await import('../dev/token-command.js')).tokenCommand },
  events: { summary: 'dead letters of the event streams (`events dlq list|replay`)', load: async () => (await import('../runtime/events/dlq-command.js')).eventsCommand },
  pq: { summary: 'persisted-query lists (`pq manifest <folder>`)', load: async () => (await import('../plugins/persisted-queries/manifest-command.js')).persistedQueryCommand },
};

const usage = `usage: geofed <command> [options]   (geofed <command> --help for its options)

commands:
${Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(9)} ${entry.summary}`).join('\n')}`;

const [name, ...args] = process.argv.slice(2);
if (name === '--help' || name === '-h' || name === 'help') {
  console.log(usage);
} else if (name === undefined) {
  console.error(`geofed: a command is required\n${usage}`);
  process.exitCode = 2;
} else {
  const entry = commands[name];
  if (!entry) {
    console.error(`geofed: unknown command "${name}"\n${usage}`);
    process.exitCode = 2;
  } else {
    await runCommand(`geofed ${name}`, await entry.load(), args);
  }
}
