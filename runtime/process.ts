import { describeError } from './error-report.js';
import { defaultDrainMs } from './http-server.js';
import { logger } from './logger.js';
import { startTracingFromEnv } from './tracing-env.js';

/**
 * An error a user can fix before the process can start (a bad config, an
 * unreachable database): printed as one clear message, never as a stack.
 */
export class StartupError extends Error {
  override readonly name: string = 'StartupError';
}

/** What a long-lived process runs: `stop()` drains (stops accepting, lets in-flight requests finish) within `drainTimeoutMs`. */
export interface Stoppable {
  stop(): Promise<void>;
  /** @default defaultDrainMs (runtime/http-server.ts) */
  readonly drainTimeoutMs?: number;
}

/** Past the drain deadline, closing what is left (pools, stores) gets this long before the process gives up on it. */
const closeGraceMs = 5_000;

/**
 * Runs a long-lived process: start-up errors a user can fix are printed as one
 * clear message and exit 1; SIGINT/SIGTERM drain and stop, then exit 0. The
 * signal reaches this process itself: npm scripts run `node --import tsx`,
 * not the tsx CLI, whose relay SIGKILLs a child that has not acknowledged a
 * signal within 30 ms (a busy process under load) and so cut in-flight
 * requests. A repeated signal (npm forwards the terminal's to its child, which
 * got it already) changes nothing.
 */
export async function runUntilSignalled(start: () => Promise<Stoppable>): Promise<void> {
  let running: Stoppable;
  // Before anything is served, so that every request is traced; the last spans are flushed once stopped.
  const tracing = await startTracingFromEnv();
  try {
    running = await start();
  } catch (error) {
    if (error instanceof StartupError || isAddressInUse(error)) {
      console.error(`geofed: ${(error as Error).message}`);
    } else {
      console.error(error);
    }
    process.exit(1);
  }
  guardProcess();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    const drainTimeoutMs = running.drainTimeoutMs ?? defaultDrainMs;
    logger.info({ signal, drain_timeout_ms: drainTimeoutMs }, 'draining: no new connections, in-flight requests finish');
    setTimeout(() => {
      logger.error({ waited_ms: Date.now() - started }, 'shutdown did not finish after the drain deadline; exiting');
      process.exit(1);
    }, drainTimeoutMs + closeGraceMs).unref();
    running.stop().then(() => tracing?.stop()).then(
      () => {
        logger.info({ took_ms: Date.now() - started }, 'drained and stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ error: describeError(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/**
 * A fault a driver raises outside any request (postgres.js on a socket that
 * died, say) must not take every request of the process down with it: it is
 * logged, as class, code and frames, and the process keeps serving.
 */
function guardProcess(): void {
  process.on('uncaughtException', (error) => logger.error({ error: describeError(error) }, 'uncaught exception: logged, still serving'));
  process.on('unhandledRejection', (reason) => logger.error({ error: describeError(reason) }, 'unhandled rejection: logged, still serving'));
}

function isAddressInUse(error: unknown): boolean {
  if ((error as NodeJS.ErrnoException)?.code !== 'EADDRINUSE') return false;
  (error as Error).message = `${(error as Error).message}: another process holds that port (set PORT or the URLs in supergraph.yaml)`;
  return true;
}
