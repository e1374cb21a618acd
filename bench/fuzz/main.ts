import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { copyLogLines, setLogLevels } from '../../runtime/logger.js';
import { TokenMint } from '../../test/fixtures/fuzz/callers.js';
import { generateCase, printRequest, runFuzz, sendFuzzRequest } from '../../test/fixtures/fuzz/fuzz.js';
import { apiSchemaOfFile } from '../../test/fixtures/fuzz/operations.js';
import { formatFuzzReport, formatRequest } from '../../test/fixtures/fuzz/report.js';
import { startFuzzStack } from '../../test/fixtures/fuzz/stack.js';

// `npm run fuzz [-- --seed N --count N --concurrency N --json FILE --deadline-ms N --no-minimize]`:
// a seeded grammar fuzz of the whole stack in production mode (test/fixtures/fuzz/fuzz.ts). Exits 1 on any
// 5xx, hang, unanswered request, crash or security finding, or when fewer than 15% of the
// operations were served 200 with data.
// `npm run fuzz -- --seed N --replay I[,J…]` sends cases I, J… of seed N again and prints each
// request and answer.
const usage = 'usage: npm run fuzz -- [--seed N] [--count N] [--concurrency N] [--json FILE] [--deadline-ms N] [--no-minimize] [--replay I[,J...]]';
let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      count: { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '16' },
      json: { type: 'string' },
      'deadline-ms': { type: 'string', default: '10000' },
      'no-minimize': { type: 'boolean', default: false },
      replay: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const integer = (name: string, min: number) => {
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) || value < min) {
    console.error(`--${name} must be an integer of at least ${min}, got "${values[name]}"\n${usage}`);
    process.exit(2);
  }
  return value;
};
const seed = integer('seed', 0);
const count = integer('count', 1);
const concurrency = integer('concurrency', 1);
const deadlineMs = integer('deadline-ms', 1);
const replay = typeof values.replay === 'string' ? values.replay.split(',').map((i) => Number(i)) : undefined;
if (replay?.some((i) => !Number.isSafeInteger(i) || i < 0)) {
  console.error(`--replay takes case indexes, got "${values.replay}"\n${usage}`);
  process.exit(2);
}

// Only the progress lines on the terminal: no audit trail, and the stack's logs at error unless LOG_LEVEL
// says otherwise (at warn, every forged hop the fuzz sends is a "refused a forwarded request" line).
// The report counts the lines logged at the level in force, by message.
setLogLevels({ log: process.env.LOG_LEVEL ?? 'error', audit: 'silent' });
console.log(`[fuzz] starting the stack (PostgreSQL, production mode)…`);
const stack = await startFuzzStack();
try {
  if (replay) {
    const schema = apiSchemaOfFile();
    const mint = new TokenMint(stack.target.jwtSecret);
    const origin = new URL(new URL(stack.target.url).origin);
    const client = new Client(origin);
    const connection = { client, origin };
    for (const index of replay) {
      const c = await generateCase(seed, index, schema, mint);
      const lines: string[] = [];
      const stopCopy = copyLogLines((line) => lines.push(line));
      const outcome = await sendFuzzRequest(connection, c.request, deadlineMs);
      stopCopy();
      console.log(`\ncase ${index}: caller ${c.caller.kind}, envelope ${c.shape}${c.mutated ? ' (document mutated)' : ''}${c.operation.defects.length ? `, defects ${c.operation.defects.join(' ')}` : ''}`);
      console.log(formatRequest(printRequest(c.request, 100_000), 100_000));
      console.log(outcome.kind === 'response' ? `→ ${outcome.status} ${outcome.text.slice(0, 2_000)}${outcome.followUp ? `\n→ then the next request on the same connection: ${outcome.followUp}` : ''}` : `→ ${outcome.kind}`);
      for (const line of lines) console.log(`  stack log: ${line.slice(0, 600)}`);
    }
    await client.close();
  } else {
    console.log(`[fuzz] seed ${seed}, ${count} operations, ${concurrency} in flight, deadline ${deadlineMs} ms`);
    const report = await runFuzz({
      seed,
      count,
      concurrency,
      deadlineMs,
      target: stack.target,
      minimize: !values['no-minimize'],
      onProgress: (line) => console.log(line),
      captureLogs: copyLogLines,
      trapProcessErrors: true,
    });
    console.log(`\n${formatFuzzReport(report)}`);
    if (typeof values.json === 'string') {
      writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`report written to ${values.json}`);
    }
    process.exitCode = report.ok ? 0 : 1;
  }
} finally {
  await stack.stop();
}
