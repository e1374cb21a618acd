import { ErrorCode } from '../protocol/errors.js';
import { readRawBody, writeBodyError } from '../runtime/apollo-http.js';
import { writeGraphQLError, writeJson, type RouteHandler } from '../runtime/http-server.js';
import type { NonceStore } from '../runtime/nonce-store.js';
import type { GeofedConfig } from './config.js';
import { verifyHop } from './hop-signature.js';
import { rolloutCommandSchema } from './rollout-commands.js';
import type { RolloutRuntime } from './rollout-runtime.js';
import { rolloutStatus } from './rollout-status.js';

export interface RolloutRouteOptions {
  readonly runtime: RolloutRuntime;
  /** The config being served (undefined before the first supergraph is loaded). */
  readonly config: () => GeofedConfig | undefined;
  /** `GEOFED_ADMIN_SECRET` (and its previous value during a rotation): what `npx geofed rollout` signs with. */
  readonly secrets: readonly string[];
  readonly windowSeconds: number;
  /** The hop nonces: a signed command is accepted once. */
  readonly nonces: NonceStore;
}

/** A command is a small JSON object. */
const maxCommandBytes = 16_384;

/** Who signs an operator's request: the `from` of its signature (hop-signature.ts). */
export const operatorSigner = 'operator';

/**
 * `/rollout`, an operator endpoint (on `gateway.admin_port` when set): `GET` answers the rollout status, `POST`
 * applies a command (rollout-commands.ts) and answers once this gateway serves it. Never open: every request is
 * signed as a hop is, with the admin secret, from `operator`, within `routing.hop_window_seconds`, and its nonce
 * is accepted once; anything else is a 401 before the body is read as JSON.
 */
export function rolloutRoute({ runtime, config, secrets, windowSeconds, nonces }: RolloutRouteOptions): RouteHandler {
  return async (req, res) => {
    const body = await readRawBody(req, maxCommandBytes);
    if (!body.ok) return writeBodyError(res, body);
    const check = verifyHop({ method: req.method ?? 'GET', target: req.url ?? '/rollout', headers: req.headers, body: body.raw }, secrets, windowSeconds);
    const signed = check.hop && check.ok && check.from === operatorSigner;
    let fresh: boolean;
    try {
      fresh = signed && (await nonces.claim(check.nonce, windowSeconds * 1_000));
    } catch (error) {
      const message = `The gateway cannot check this request's nonce (${(error as Error).message}); nothing was changed. Retry.`;
      return writeGraphQLError(res, ErrorCode.ROLLOUT_STORE_UNAVAILABLE, message);
    }
    if (!fresh) {
      const why = !check.hop ? 'it is not signed' : !check.ok ? check.reason : check.from !== operatorSigner ? 'it is not signed by an operator' : 'it was received before';
      return writeGraphQLError(res, ErrorCode.UNAUTHENTICATED, `Refused: ${why}. Rollout commands are signed with GEOFED_ADMIN_SECRET; npx geofed rollout signs them.`);
    }
    const serving = config();
    if (!serving) return writeGraphQLError(res, ErrorCode.GATEWAY_NOT_READY, 'The gateway is starting: its supergraph is not loaded yet. Retry shortly.');
    if (req.method === 'GET') return writeJson(res, 200, await rolloutStatus(runtime, serving));
    if (req.method !== 'POST') return writeGraphQLError(res, ErrorCode.BAD_REQUEST, '/rollout answers GET (the status) and POST (a command).');
    let parsed;
    try {
      parsed = rolloutCommandSchema.safeParse(JSON.parse(body.raw.toString('utf8')));
    } catch (error) {
      return writeGraphQLError(res, ErrorCode.BAD_REQUEST, `The command is not JSON: ${(error as Error).message}`);
    }
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'command'}: ${issue.message}`);
      return writeGraphQLError(res, ErrorCode.BAD_REQUEST, `The command is not valid: ${problems.join('; ')}`);
    }
    const applied = await runtime.apply(parsed.data);
    if (!applied.ok) {
      const code = applied.unavailable ? ErrorCode.ROLLOUT_STORE_UNAVAILABLE : ErrorCode.BAD_REQUEST;
      return writeGraphQLError(res, code, applied.problems.join('; '));
    }
    writeJson(res, 200, { entry: applied.entry, status: await rolloutStatus(runtime, config() ?? serving) });
  };
}
