import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SpanKind, type Span } from '@opentelemetry/api';
import { Counter, type Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { ErrorCode } from '../protocol/errors.js';
import { logger } from '../runtime/logger.js';
import { registeredMetric } from '../runtime/registered-metric.js';
import { activeTraceContext, inSpan, traceAttributes } from '../runtime/tracing.js';
import { writeGraphQLError } from '../runtime/http-server.js';
import { signHop } from './hop-signature.js';
import { keepAliveTimeoutMs } from './keep-alive.js';

export interface HomeForwarderOptions {
  /** The gateway of each region (`gateways.<region>.url`). */
  readonly gateways: Readonly<Record<string, { readonly url: string }>>;
  /** This gateway's region, named in the hop. */
  readonly from: string;
  readonly hopSecret: string;
  /** The whole forwarded exchange must finish within this (the home region plans and fetches meanwhile). */
  readonly timeoutMs: number;
  readonly registry: Registry;
}

export interface HomeForwarder {
  /** Sends the request whole to `home`'s gateway and streams its answer back, untouched. */
  forward(req: IncomingMessage, res: ServerResponse, body: Uint8Array, home: string): Promise<void>;
  close(): Promise<void>;
}

/** Connection-level headers of one hop, which are not the client's to see (RFC 9110, 7.6.1). */
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

/**
 * Step 3 of a request (README, "How a request is served"), home-region
 * execution: an authenticated operation of a tenant homed in another region
 * is sent whole to that region's gateway, which verifies the client's token
 * again, plans, fetches from its own region and assembles the response. This
 * gateway passes the response's bytes through without parsing, logging,
 * caching or storing them: the tenant's personal data is processed only at
 * home, at the cost of one cross-region round trip whatever the plan's depth.
 * The forward has a span of its own, whose trace context the hop signs: the
 * home gateway's spans continue this trace.
 * Next: the home gateway takes the request from step 1 (routes.ts); an
 * operation run here goes on to the plugins of plugin-chain.ts (step 4).
 */
export function homeForwarder({ gateways, from, hopSecret, timeoutMs, registry }: HomeForwarderOptions): HomeForwarder {
  const agent = new Agent({ keepAliveTimeout: keepAliveTimeoutMs, connectTimeout: timeoutMs });
  const forwarded = registeredMetric(
    registry,
    'geofed_forwarded_operations_total',
    () =>
      new Counter({
        name: 'geofed_forwarded_operations_total',
        help: 'Operations forwarded whole to the tenant\'s home gateway, by home region and outcome.',
        labelNames: ['home_region', 'outcome'] as const,
        registers: [registry],
      }),
  );
  const outcome = (span: Span, home: string, value: 'ok' | 'unavailable' | 'rejected' | 'interrupted') => {
    forwarded.inc({ home_region: home, outcome: value });
    span.setAttribute(traceAttributes.outcome, value);
  };
  const unavailable = (res: ServerResponse, span: Span, home: string) => {
    outcome(span, home, 'unavailable');
    if (res.headersSent) return void res.destroy();
    res.setHeader('cache-control', 'no-store');
    writeGraphQLError(res, ErrorCode.REGION_UNAVAILABLE, `The tenant's home region (${home}) cannot be reached; its operations are executed only there. Retry later.`);
  };
  const forwardTraced = async (req: IncomingMessage, res: ServerResponse, body: Uint8Array, home: string, span: Span): Promise<void> => {
    const gateway = gateways[home];
    if (!gateway) return unavailable(res, span, home);
    const target = req.url ?? '/graphql';
    const method = req.method ?? 'GET';
    const trace = activeTraceContext();
    const headers = signHop(hopSecret, { method, target, headers: req.headers, body, ...(trace ? { trace } : {}) }, from);
    let answer;
    try {
      answer = await request(new URL(target, gateway.url), {
        method: method as 'GET' | 'POST',
        headers,
        ...(method === 'POST' ? { body } : {}),
        dispatcher: agent,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      logger.warn({ home, err: (error as Error).message }, 'home gateway unreachable');
      return unavailable(res, span, home);
    }
    // A 401 is small and carries no data: read whole, to tell a refused hop (the deployment's fault) from a refused token.
    const refusal = answer.statusCode === 401 ? await answer.body.text() : undefined;
    if (refusal !== undefined && codeOf(refusal) === ErrorCode.GATEWAY_SIGNATURE_REFUSED) {
      outcome(span, home, 'rejected');
      logger.error({ home }, 'the home gateway refused this gateway\'s hop signature: GEOFED_GATEWAY_HOP_SECRET differs between the regions\' gateways (or their clocks are apart)');
      res.setHeader('cache-control', 'no-store');
      return writeGraphQLError(res, ErrorCode.REGION_REJECTED_GATEWAY, `The tenant's home region (${home}) refused this gateway: the deployment is misconfigured, not your request. Retry later.`);
    }
    res.statusCode = answer.statusCode;
    span.setAttribute('http.response.status_code', answer.statusCode);
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !hopByHop.has(name)) res.setHeader(name, value);
    }
    try {
      await pipeline(refusal === undefined ? answer.body : Readable.from([refusal]), res);
      outcome(span, home, 'ok');
    } catch (error) {
      outcome(span, home, 'interrupted');
      logger.warn({ home, err: (error as Error).message }, 'forwarded response interrupted');
      res.destroy();
    }
  };
  return {
    forward(req, res, body, home) {
      return inSpan('geofed.home_forward', { kind: SpanKind.CLIENT, attributes: { [traceAttributes.region]: home } }, (span) => forwardTraced(req, res, body, home, span));
    },
    close: () => agent.close(),
  };
}

function codeOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { errors?: { extensions?: { code?: unknown } }[] }).errors?.[0]?.extensions?.code;
  } catch {
    // Not GraphQL: not a refusal of ours.
    return undefined;
  }
}
