// `schema:check`: composition, staleness of the committed supergraph, breaking changes against a
// base, data residency of pii fields and of events, persisted operations, and list sizes for the cost analysis.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { loadConfig, type GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { apiSchemaOf, type SchemaChange } from './check-diff.js';
import { costLint, residencyLint } from './check-lints.js';
import { breakingChanges, operations, skipped, step, type CheckStep } from './check-steps.js';
import { checkVariants, formatVariants, hasVersions, type RegionReport, type VariantReport } from './check-variants.js';
import { eventsLint } from './check-events.js';
import { eventTypes, type EventCatalogue } from '../protocol/events.js';
import { composeSupergraph } from '../gateway/compose.js';

export type { SchemaChange } from './check-diff.js';
export type { CheckStep, StepName } from './check-steps.js';

export interface CheckReport {
  readonly ok: boolean;
  readonly steps: CheckStep[];
  readonly breaking: SchemaChange[];
  readonly dangerous: SchemaChange[];
  /** With versions in the config (docs/rollouts.md): every variant a region runs, checked as the base one is. */
  readonly variants?: VariantReport[];
  /** With versions in the config: each region's verdict, its stable variant's and each canary's. */
  readonly regions?: RegionReport[];
}

export interface CheckOptions {
  /** Default: GEOFED_CONFIG, else supergraph.yaml. Ignored when `config` is given. */
  readonly configPath?: string;
  readonly config?: GeofedConfig;
  /** Reads a subgraph SDL file (tests change subgraphs in memory). */
  readonly readSchema?: (path: string) => string;
  /** The committed supergraph to compare the fresh composition with; default: the config's file. `null` skips the staleness step. */
  readonly committedSupergraph?: string | null;
  /** A supergraph SDL file to diff against. */
  readonly base?: string;
  /** A supergraph SDL to diff against (wins over `base`); `null` skips the diff. */
  readonly baseSdl?: string | null;
  readonly allowBreaking?: boolean;
  /** Persisted-query manifest to check; default: the config's. `null` skips the operations step. */
  readonly manifestPath?: string | null;
  /** The event types to check; default: protocol/events.ts's. */
  readonly eventTypes?: EventCatalogue;
}

export async function checkSchema(options: CheckOptions = {}): Promise<CheckReport> {
  const config = options.config ?? loadConfig(options.configPath ?? gatewayEnv().configPath);
  const steps: CheckStep[] = [];
  let breaking: SchemaChange[] = [];
  let dangerous: SchemaChange[] = [];
  const report = (): CheckReport => ({ ok: steps.every((s) => s.ok), steps, breaking, dangerous });

  const composed = await composeSupergraph(config, options.readSchema ? { readFile: options.readSchema } : {});
  if (!composed.ok) {
    steps.push(step('composition', { errors: [...composed.errors] }));
    for (const name of ['staleness', 'breaking-changes', 'residency', 'events', 'operations', 'cost'] as const) {
      steps.push(skipped(name, 'composition failed'));
    }
    return report();
  }
  const supergraphSdl = composed.supergraphSdl;
  steps.push(step('composition', { notes: [`${config.subgraphs.length} subgraphs compose (${config.subgraphs.map((s) => s.name).join(', ')})`] }));

  steps.push(staleness(config, supergraphSdl, options.committedSupergraph));

  let apiSchema: GraphQLSchema;
  try {
    apiSchema = apiSchemaOf(supergraphSdl);
  } catch (error) {
    steps.push(step('breaking-changes', { errors: [`cannot build the API schema: ${(error as Error).message}`] }));
    for (const name of ['residency', 'events', 'operations', 'cost'] as const) steps.push(skipped(name, 'no API schema'));
    return report();
  }

  const diffStep = await breakingChanges(config, apiSchema, options);
  breaking = diffStep.breaking;
  dangerous = diffStep.dangerous;
  steps.push(diffStep.step);

  const residency = residencyLint(supergraphSdl, config);
  steps.push(step('residency', { errors: residency.errors, notes: [`${residency.piiFields} pii-tagged fields, none resolvable by a global subgraph`].filter(() => residency.errors.length === 0) }));

  const events = eventsLint(supergraphSdl, options.eventTypes ?? eventTypes);
  steps.push(step('events', { errors: events.errors, warnings: events.warnings, notes: [`${events.eventTypes} event types, no pii field in a global one`].filter(() => events.errors.length === 0) }));

  steps.push(operations(config, apiSchema, options.manifestPath));

  const cost = costLint(supergraphSdl, apiSchema);
  steps.push(step('cost', { warnings: cost.warnings }));
  if (!hasVersions(config)) return report();
  const { variants, regions } = await checkVariants(config, options, steps);
  return { ...report(), ok: steps.every((s) => s.ok) && variants.every((v) => v.ok), variants, regions };
}

function staleness(config: GeofedConfig, supergraphSdl: string, given: string | null | undefined): CheckStep {
  if (given === null) return skipped('staleness', 'not checked');
  if (config.supergraphPath === undefined) return skipped('staleness', 'no supergraph file configured: the gateway composes at start');
  const path = relative(process.cwd(), config.supergraphPath) || config.supergraphPath;
  const committed = given ?? (existsSync(config.supergraphPath) ? readFileSync(config.supergraphPath, 'utf8') : undefined);
  if (committed === supergraphSdl) return step('staleness', { notes: [`${path} is up to date`] });
  return step('staleness', { errors: [`${path} is ${committed === undefined ? 'missing' : 'stale'}: run \`npm run compose\` and commit it`] });
}

/** The report as ✓/✗/! lines. */
export function formatReport(report: CheckReport): string {
  const lines = formatSteps(report.steps);
  if (report.variants && report.regions) lines.push(...formatVariants({ variants: report.variants, regions: report.regions }, formatSteps));
  lines.push(report.ok ? '✓ schema check passed' : '✗ schema check failed');
  return lines.join('\n');
}

function formatSteps(steps: readonly CheckStep[]): string[] {
  const lines: string[] = [];
  for (const s of steps) {
    const mark = s.skipped ? '-' : s.ok ? '✓' : '✗';
    lines.push(`${mark} ${s.name}${s.skipped ? ' (skipped)' : ''}${s.notes.length > 0 ? `: ${s.notes.join('; ')}` : ''}`);
    for (const e of s.errors) lines.push(`  ✗ ${e}`);
    for (const w of s.warnings) lines.push(`  ! ${w}`);
  }
  return lines;
}
