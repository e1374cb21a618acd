// `schema:check` for the versions each region runs (docs/rollouts.md): every variant a region serves, its stable one
// and each canary, composed and checked as the base supergraph is (breaking changes against the same base,
// residency, the persisted operations, list sizes), and the verdicts told per region.
import type { GraphQLSchema } from 'graphql';
import { composeSupergraph } from '../gateway/compose.js';
import type { GeofedConfig } from '../gateway/config.js';
import { variantConfig, variantsOf, type Variant } from '../gateway/variants.js';
import { apiSchemaOf, type SchemaChange } from './check-diff.js';
import { costLint, residencyLint } from './check-lints.js';
import { breakingChanges, operations, skipped, step, type CheckStep, type DiffOptions } from './check-steps.js';

export interface VariantReport {
  /** `catalog@v1,users@v2,orders@v1`. */
  readonly id: string;
  /** `eu`, `eu canary users@v2`. */
  readonly servedTo: readonly string[];
  readonly ok: boolean;
  /** Every subgraph's base entry: its steps are the report's own. */
  readonly base: boolean;
  /** The base variant's are the report's own steps. */
  readonly steps: readonly CheckStep[];
  readonly breaking: readonly SchemaChange[];
}

export interface RegionReport {
  readonly region: string;
  readonly ok: boolean;
  /** The region's stable variant, then each canary: `stable`, `canary users@v2`. */
  readonly variants: readonly { readonly side: string; readonly variant: string; readonly ok: boolean }[];
  /** Every failure of the region's variants, each naming its side, variant and step. */
  readonly errors: readonly string[];
}

export interface VariantCheckOptions extends DiffOptions {
  readonly readSchema?: (path: string) => string;
  readonly manifestPath?: string | null;
}

/** Whether the config names versions at all: without, the report is the base supergraph's alone. */
export function hasVersions(config: GeofedConfig): boolean {
  return config.subgraphs.some((s) => Object.keys(s.versions).length > 0) || Object.keys(config.rollout.regions).length > 0;
}

export async function checkVariants(config: GeofedConfig, options: VariantCheckOptions, baseSteps: readonly CheckStep[]): Promise<{ variants: VariantReport[]; regions: RegionReport[] }> {
  const baseId = config.subgraphs.map((s) => `${s.name}@${s.version}`).join(',');
  const variants = await Promise.all(
    variantsOf(config).map(async (variant): Promise<VariantReport> => {
      if (variant.id === baseId) return { id: variant.id, servedTo: variant.servedTo, ok: baseSteps.every((s) => s.ok), base: true, steps: baseSteps, breaking: [] };
      const { steps, breaking } = await variantSteps(config, variant, options);
      return { id: variant.id, servedTo: variant.servedTo, ok: steps.every((s) => s.ok), base: false, steps, breaking };
    }),
  );
  const regions = config.regions.map((region): RegionReport => {
    const sides = variants.flatMap((v) => v.servedTo.flatMap((who) => (who === region ? [{ side: 'stable', v }] : who.startsWith(`${region} `) ? [{ side: who.slice(region.length + 1), v }] : [])));
    const errors = sides.flatMap(({ side, v }) => v.steps.flatMap((s) => s.errors.map((e) => `${side} (${v.id}): ${s.name}: ${e}`)));
    return { region, ok: errors.length === 0, variants: sides.map(({ side, v }) => ({ side, variant: v.id, ok: v.ok })), errors };
  });
  return { variants, regions };
}

/** One variant's steps, as the base supergraph's but its staleness (the committed file is the base's). */
async function variantSteps(config: GeofedConfig, variant: Variant, options: VariantCheckOptions): Promise<{ steps: CheckStep[]; breaking: SchemaChange[] }> {
  const composed = await composeSupergraph(variantConfig(config, variant), options.readSchema ? { readFile: options.readSchema } : {});
  if (!composed.ok) return { steps: [step('composition', { errors: [...composed.errors] }), ...['breaking-changes', 'residency', 'operations', 'cost'].map((n) => skipped(n as CheckStep['name'], 'composition failed'))], breaking: [] };
  const steps = [step('composition', { notes: [`${variant.id} composes`] })];
  let apiSchema: GraphQLSchema;
  try {
    apiSchema = apiSchemaOf(composed.supergraphSdl);
  } catch (error) {
    return { steps: [...steps, step('breaking-changes', { errors: [`cannot build the API schema: ${(error as Error).message}`] })], breaking: [] };
  }
  const diff = await breakingChanges(config, apiSchema, options);
  const residency = residencyLint(composed.supergraphSdl, config);
  steps.push(diff.step, step('residency', { errors: residency.errors }), operations(config, apiSchema, options.manifestPath), step('cost', { warnings: costLint(composed.supergraphSdl, apiSchema).warnings }));
  return { steps, breaking: diff.breaking };
}

/** The per-region verdicts, then each variant's steps but the base one's (the report's own). */
export function formatVariants(report: { readonly variants: readonly VariantReport[]; readonly regions: readonly RegionReport[] }, formatSteps: (steps: readonly CheckStep[]) => string[]): string[] {
  const lines = ['regions:'];
  for (const r of report.regions) {
    lines.push(`${r.ok ? '✓' : '✗'} ${r.region}: ${r.variants.map((v) => `${v.side} ${v.variant}`).join('; ')}`);
    for (const e of r.errors) lines.push(`  ✗ ${e}`);
  }
  for (const v of report.variants.filter((variant) => !variant.base)) {
    lines.push(`variant ${v.id} (${v.servedTo.join('; ')}):`);
    lines.push(...formatSteps(v.steps).map((line) => `  ${line}`));
  }
  return lines;
}
