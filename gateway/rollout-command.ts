import { ErrorCode } from '../protocol/errors.js';
import { parseCommandArgs, UsageError, type Command } from '../runtime/command.js';
import { StartupError } from '../runtime/process.js';
import { loadConfig } from './config.js';
import { gatewayEnv } from './env.js';
import { signHop } from './hop-signature.js';
import { operatorSigner } from './rollout-admin.js';
import type { RolloutCommand } from './rollout-commands.js';
import { formatStatus, type RolloutStatus } from './rollout-status.js';

const usage = `usage: geofed rollout start <subgraph>@<version> --region REGION --percent N [--pin TENANT,…]
       geofed rollout promote <subgraph>@<version> --region REGION|all
       geofed rollout rollback <subgraph>[@<version>] --region REGION
       geofed rollout status [--region REGION] [--json]
  start      the version becomes the region's canary for N % of its tenants (and the pinned ones)
  promote    the version becomes the region's stable version for every tenant (all: every region)
  rollback   the region's canary serves nobody; its tenants are back on the stable version
  status     each region's versions, canaries, last rollback and the guard's window; retired versions
  --gateway URL   the gateway to ask (default: the config's gateway, on gateway.admin_port when set)
  --config FILE   geofed's supergraph.yaml (default: GEOFED_CONFIG, else supergraph.yaml)
  --json          print the gateway's JSON answer
Commands are signed with GEOFED_ADMIN_SECRET (default: GEOFED_GATEWAY_HOP_SECRET). With Upstash
configured every gateway shares the state and any of them can be asked; without, it is the asked
gateway's own (docs/rollouts.md).`;

/** `users@v2` → its subgraph and version; the version may be optional (rollback). */
function target(spec: string | undefined, versionRequired: boolean): { subgraph: string; version?: string } {
  const match = spec === undefined ? null : /^([A-Za-z][A-Za-z0-9_-]*)(?:@([A-Za-z0-9][A-Za-z0-9._-]*))?$/.exec(spec);
  if (!match || (versionRequired && match[2] === undefined)) throw new UsageError(`name the ${versionRequired ? 'version' : 'subgraph'} as <subgraph>@<version>, such as users@v2`);
  return { subgraph: match[1]!, ...(match[2] === undefined ? {} : { version: match[2] }) };
}

/** A store that did not answer is retried this many times, each a request signed anew (a nonce is accepted once). */
const attempts = 3;
const retryAfterMs = 1_000;

/** A command is answered once applied, and applying a new version rebuilds the gateway's request path (a composition): far longer than a read. */
const commandTimeoutMs = 60_000;

/** One signed request to the gateway's `/rollout`; its answer, or a one-line error. */
async function ask(base: string, secret: string, method: 'GET' | 'POST', command?: RolloutCommand): Promise<unknown> {
  const body = command === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(command));
  // fetch would add an Accept of its own, and Accept is a signed header.
  const signed = { accept: 'application/json', ...(command === undefined ? {} : { 'content-type': 'application/json' }) };
  for (let attempt = 1; ; attempt += 1) {
    const headers = signHop(secret, { method, target: '/rollout', headers: signed, body }, operatorSigner);
    let response: Response;
    try {
      response = await fetch(new URL('/rollout', base), { method, headers, ...(command === undefined ? {} : { body }), signal: AbortSignal.timeout(commandTimeoutMs) });
    } catch (error) {
      throw new StartupError(`cannot reach the gateway at ${base}: ${(error as Error).message} (pass --gateway URL)`);
    }
    const answer = (await response.json().catch(() => ({}))) as { errors?: { message: string; extensions?: { code?: string } }[] };
    if (response.ok) return answer;
    const code = answer.errors?.[0]?.extensions?.code;
    if (code === ErrorCode.ROLLOUT_STORE_UNAVAILABLE && attempt < attempts) {
      await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
      continue;
    }
    throw new StartupError(`the gateway at ${base} refused: ${answer.errors?.[0]?.message ?? `HTTP ${response.status}`} (${code ?? response.status})`);
  }
}

/** `geofed rollout …`: drives a rollout through a gateway's signed `/rollout` endpoint (rollout-admin.ts). */
export const rolloutCommand: Command = {
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(
      args,
      { region: { type: 'string' }, percent: { type: 'string' }, pin: { type: 'string' }, gateway: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } },
      true,
    );
    const [action, spec, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`);
    const env = gatewayEnv();
    const config = loadConfig(values.config ?? env.configPath);
    const base = values.gateway ?? `http://127.0.0.1:${config.gateway.adminPort ?? config.gateway.port}`;
    const print = (answer: unknown) => console.log(values.json ? JSON.stringify(answer, null, 2) : formatStatus(((answer as { status?: RolloutStatus }).status ?? answer) as RolloutStatus, values.region));
    if (action === 'status') return print(await ask(base, env.adminSecret, 'GET'));
    if (action !== 'start' && action !== 'promote' && action !== 'rollback') throw new UsageError(action === undefined ? 'a subcommand is required: start, promote, rollback or status' : `unknown subcommand "${action}"`);
    const { region } = values;
    if (region === undefined) throw new UsageError('--region is required');
    const regions = region === 'all' && action === 'promote' ? config.regions : [region];
    const { subgraph, version } = target(spec, action !== 'rollback');
    let answer: unknown;
    for (const r of regions) {
      if (action === 'start') {
        const percent = Number(values.percent);
        if (values.percent === undefined || !Number.isFinite(percent) || percent < 0 || percent > 100) throw new UsageError('--percent: a share of the region\'s tenants from 0 to 100 is required');
        const pinned = values.pin === undefined ? {} : { pinned: values.pin.split(',').map((t) => t.trim()).filter((t) => t !== '') };
        answer = await ask(base, env.adminSecret, 'POST', { action, subgraph, version: version!, region: r, percent, ...pinned });
      } else if (action === 'promote') {
        answer = await ask(base, env.adminSecret, 'POST', { action, subgraph, version: version!, region: r });
      } else {
        answer = await ask(base, env.adminSecret, 'POST', { action, subgraph, region: r, ...(version === undefined ? {} : { version }) });
      }
    }
    print(answer);
  },
};
