import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StartupError } from './process.js';

/** A command of the `geofed` CLI, or of a deployable's own entry. */
export interface Command {
  /** The usage text `--help` prints. */
  readonly usage: string;
  /** Runs the command; a long-running one returns once it is serving (its signals stop it). */
  run(args: readonly string[]): Promise<void>;
}

/** A bad argument: answered with the message and the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `node:util` parseArgs, strict, with its errors as UsageErrors. */
export function parseCommandArgs<const O extends Options>(args: readonly string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Runs a command as a process would: `--help` prints its usage and exits 0, a
 * usage error prints the message and the usage and exits 2, a start-up error
 * a user can fix prints one line and exits 1. Never a stack trace for a
 * user's mistake.
 */
export async function runCommand(name: string, command: Command, args: readonly string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(command.usage);
    return;
  }
  try {
    await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${name}: ${error.message}\n${command.usage}`);
      process.exitCode = 2;
    } else if (error instanceof StartupError) {
      console.error(`${name}: ${error.message}`);
      process.exitCode = 1;
    } else {
      throw error;
    }
  }
}
