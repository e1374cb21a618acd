import { z } from 'zod';
import { StartupError } from './process.js';

type CamelCase<Key extends string> = Key extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : Key;

/** An object's keys in camelCase, as code reads them (the files and variables are snake_case). */
export type CamelKeys<T> = { [Key in keyof T as Key extends string ? CamelCase<Key> : Key]: T[Key] };

function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * A settings section: a strict object of snake_case keys (an unknown key is an
 * error that names it) that code reads with camelCase keys. Only the
 * section's own keys are renamed, never the keys of a record inside it
 * (region names, type names).
 */
export function settingsSection<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape).transform((value) => Object.fromEntries(Object.entries(value).map(([key, v]) => [camelCase(key), v])) as CamelKeys<z.output<z.ZodObject<Shape, z.core.$strict>>>);
}

/** Settings that cannot be used; the message names the source (a file or the environment) and every bad key. */
export class SettingsError extends StartupError {
  override readonly name: string = 'SettingsError';
}

/** One line per problem: `key.path: what was expected`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    // An unknown key is named by its own path, as a user would search the file for it.
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `  ${[...issue.path, key].join('.')}: unknown key (a misspelling?)`);
    return [`  ${issue.path.join('.') || '(top level)'}: ${issue.code === 'invalid_type' ? `expected ${issue.expected}` : issue.message}`];
  });
}

/** Parses settings or throws a `SettingsError` that names `source` and every problem. */
export function parseSettings<Schema extends z.ZodType>(schema: Schema, value: unknown, source: string, ErrorType: new (message: string) => SettingsError = SettingsError): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ErrorType(`${source} is not valid:\n${describeIssues(parsed.error.issues).join('\n')}`);
}

/** Environment variables as settings read them: an empty variable is an unset one. */
export function setVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

/** A region's name as every setting spells it ("eu", "us_east"). */
export const regionName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a lower-case region name such as "eu"');

/** A positive whole number of milliseconds, bytes or items. */
export const positiveInteger = z.number().int().positive();
export const nonNegativeInteger = z.number().int().nonnegative();
