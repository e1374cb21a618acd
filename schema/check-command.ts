import { ConfigError } from '../gateway/config.js';
import { parseCommandArgs, type Command } from '../runtime/command.js';
import { checkSchema, formatReport } from './check.js';

const usage = `usage: geofed check [--base FILE] [--allow-breaking] [--json] [--config FILE]
  --base FILE        supergraph SDL to diff against (default: the committed supergraph at the
                     merge base with main, else HEAD~1, else no diff)
  --allow-breaking   report breaking changes without failing
  --json             print one JSON report
  --config FILE      geofed config (default: GEOFED_CONFIG, else supergraph.yaml)`;

/** `geofed check` (`npm run schema:check`): exit 0 when every step passes, 1 otherwise. */
export const checkCommand: Command = {
  usage,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      base: { type: 'string' },
      'allow-breaking': { type: 'boolean' },
      json: { type: 'boolean' },
      config: { type: 'string' },
    });
    let report;
    try {
      report = await checkSchema({
        ...(values.config !== undefined ? { configPath: values.config } : {}),
        ...(values.base !== undefined ? { base: values.base } : {}),
        allowBreaking: values['allow-breaking'] ?? false,
      });
    } catch (error) {
      // A machine reading --json gets JSON even when the config cannot be read.
      if (!(error instanceof ConfigError) || !values.json) throw error;
      console.log(JSON.stringify({ ok: false, error: error.message, steps: [], breaking: [], dangerous: [] }));
      process.exitCode = 1;
      return;
    }
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
    if (!report.ok) process.exitCode = 1;
  },
};
