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
    throw new UsageError(usageMessageOf(error as NodeJS.ErrnoException));
  }
}

/**
 * Node's words, but for an unknown option only its first sentence: the rest
 * ("place it at the end of the command after '--' …") is about positionals
 * starting with a dash, which no command here expects, and its quotes are unbalanced.
 */
function usageMessageOf(error: NodeJS.ErrnoException): string {
  return error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? error.message.replace(/\. To specify a positional argument.*$/s, '') : error.message;
}

/**
 * Runs a command as a process would: `--help` prints its usage and exits 0, a
 * usage error prints the message and the usage and exits 2, a start-up error
 * a user can fix (a file that cannot be read or written among them) prints
 * one line and exits 1. Never a stack trace for a user's mistake.
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
    } else if (isFileSystemError(error)) {
      console.error(`${name}: ${describeFileSystemError(error)}`);
      process.exitCode = 1;
    } else {
      throw error;
    }
  }
}

type FileSystemError = NodeJS.ErrnoException & { readonly code: string; readonly syscall: string; readonly path: string };

/** Node's error for a path it could not open, read or write: the path a user named or configured, not a bug. */
function isFileSystemError(error: unknown): error is FileSystemError {
  const { code, syscall, path } = (error ?? {}) as NodeJS.ErrnoException;
  return typeof code === 'string' && typeof syscall === 'string' && typeof path === 'string';
}

/** `cannot open /x/y.json: no such file or directory (ENOENT)`, from Node's `ENOENT: no such file or directory, open '/x/y.json'`. */
function describeFileSystemError(error: FileSystemError): string {
  const reason = /^[A-Z]+: (.*?), \w+ '/.exec(error.message)?.[1] ?? error.message;
  return `cannot ${error.syscall} ${error.path}: ${reason} (${error.code})`;
}
