import { z } from 'zod';
import { parseSettings, setVariables } from '../../../runtime/settings.js';

const positive = z.coerce.number<string>().int().positive();
const allowances = ['loopback', 'private', 'http'] as const;

const variables = z.object({
  /**
   * What a webhook URL may reach besides public HTTPS addresses: `loopback`
   * (127.0.0.0/8, ::1), `private` (RFC 1918, CGNAT, fc00::/7), `http` (plain
   * HTTP). Comma-separated; link-local and reserved addresses never.
   */
  GEOFED_WEBHOOK_ALLOW: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(allowances, { error: `one of ${allowances.join(', ')}` }))),
  GEOFED_WEBHOOK_MAX_ATTEMPTS: positive.default(10),
  /** The wait after the first failed attempt; each next one doubles, up to GEOFED_WEBHOOK_RETRY_MAX_MS. */
  GEOFED_WEBHOOK_RETRY_BASE_MS: positive.default(5_000),
  GEOFED_WEBHOOK_RETRY_MAX_MS: positive.default(3_600_000),
  /** Each wait is drawn within ± this share of its scheduled value, so that failed deliveries do not retry in step. */
  GEOFED_WEBHOOK_JITTER: z.coerce.number<string>().min(0).max(1).default(0.2),
  /** An attempt without an answer by then failed (and is retried). */
  GEOFED_WEBHOOK_TIMEOUT_MS: positive.default(10_000),
  /** Attempts in flight at once, per region. */
  GEOFED_WEBHOOK_CONCURRENCY: positive.default(16),
  /** How often the delivery worker looks for deliveries that are due. */
  GEOFED_WEBHOOK_POLL_MS: positive.default(250),
});

export interface TargetAllowance {
  readonly loopback: boolean;
  readonly private: boolean;
  readonly http: boolean;
}

export interface RetrySchedule {
  readonly maxAttempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly jitter: number;
}

export interface WebhookSettings {
  readonly allow: TargetAllowance;
  readonly retry: RetrySchedule;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly pollMs: number;
}

/** The users subgraph's webhook settings, from its environment (docs/events.md, "Webhooks"). */
export function webhookSettings(env: NodeJS.ProcessEnv = process.env): WebhookSettings {
  const parsed = parseSettings(variables, setVariables(env), 'the webhook settings of the environment');
  const allow = new Set(parsed.GEOFED_WEBHOOK_ALLOW);
  return {
    allow: { loopback: allow.has('loopback'), private: allow.has('private'), http: allow.has('http') },
    retry: { maxAttempts: parsed.GEOFED_WEBHOOK_MAX_ATTEMPTS, baseMs: parsed.GEOFED_WEBHOOK_RETRY_BASE_MS, maxMs: parsed.GEOFED_WEBHOOK_RETRY_MAX_MS, jitter: parsed.GEOFED_WEBHOOK_JITTER },
    timeoutMs: parsed.GEOFED_WEBHOOK_TIMEOUT_MS,
    concurrency: parsed.GEOFED_WEBHOOK_CONCURRENCY,
    pollMs: parsed.GEOFED_WEBHOOK_POLL_MS,
  };
}

/**
 * The wait after failed attempt `attempt` (1-based): the base doubled per
 * attempt, capped, then drawn uniformly within ± `jitter` of that.
 */
export function retryDelayMs({ baseMs, maxMs, jitter }: RetrySchedule, attempt: number, random: () => number = Math.random): number {
  const scheduled = Math.min(baseMs * 2 ** (attempt - 1), maxMs);
  return Math.round(scheduled * (1 + jitter * (2 * random() - 1)));
}
