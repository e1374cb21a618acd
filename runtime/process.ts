import { describeError } from './error-report.js';
import { logger } from './logger.js';

/**
 * An error a user can fix before the process can start (a bad config, an
 * unreachable database): printed as one clear message, never as a stack.
 */
export class StartupError extends Error {
  override readonly name: string = 'StartupError';
}

/**
 * Runs a long-lived process: start-up errors a user can fix are printed as one
 * clear message and exit 1; SIGINT/SIGTERM drain and stop, then exit 0.
 */
export async function runUntilSignalled(start: () => Promise<{ stop(): Promise<void> }>): Promise<void> {
  let running: { stop(): Promise<void> };
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
    logger.info({ signal }, 'draining and stopping');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
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
