// `npm run schema:check` / `npx geofed check`: parses the options, runs checkSchema, prints, exits.
import { parseArgs } from 'node:util';
import { ConfigError } from '../gateway/config.js';
import { checkSchema, formatReport } from './check.js';

const usage = `usage: geofed check [--base FILE] [--allow-breaking] [--json] [--config FILE]
  --base FILE        supergraph SDL to diff against (default: the committed supergraph at the
                     merge base with main, else HEAD~1, else no diff)
  --allow-breaking   report breaking changes without failing
  --json             print one JSON report
  --config FILE      geofed config (default: GEOFED_CONFIG, else supergraph.yaml)`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        base: { type: 'string' },
        'allow-breaking': { type: 'boolean' },
        json: { type: 'boolean' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  try {
    const report = await checkSchema({
      ...(values.config !== undefined ? { configPath: values.config } : {}),
      ...(values.base !== undefined ? { base: values.base } : {}),
      allowBreaking: values['allow-breaking'] ?? false,
    });
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else console.log(formatReport(report));
    return report.ok ? 0 : 1;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (values.json) console.log(JSON.stringify({ ok: false, error: error.message, steps: [], breaking: [], dangerous: [] }));
    else console.error(error.message);
    return 1;
  }
}

process.exitCode = await main();
