import { resolve } from 'node:path';
import { z } from 'zod';
import { regionName } from '../runtime/settings.js';

// Versions of a subgraph (docs/rollouts.md): `subgraphs.<name>.version` labels the base entry (its schema and urls),
// `subgraphs.<name>.versions.<label>` declares another one, with its own SDL and its own instance in each region
// that deploys it. Which version a region runs is the `rollout` section's (rollout-settings.ts).

const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });

/** A version's label as every key and the `x-geofed-version` header spell it ("v2", "2025-06"). */
export const versionLabel = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a version label of letters, digits, ".", "_" and "-" such as "v2"');

/** The label of a subgraph's base entry when `subgraphs.<name>.version` is not set. */
export const defaultVersion = 'v1';

export const versionEntry = z.strictObject({
  /** The version's SDL: a file, or the running instance introspected. */
  schema: z.union([z.strictObject({ file: z.string().min(1) }), z.strictObject({ subgraph_url: httpUrl })]),
  /** Its instance in each region that deploys it; a region without one never runs it. */
  urls: z.record(regionName, httpUrl).default({}),
});

/** Where a subgraph version's SDL comes from: an absolute file path, or the running instance's URL. */
export type SchemaSource = { readonly file: string; readonly subgraphUrl?: undefined } | { readonly subgraphUrl: string; readonly file?: undefined };

export interface SubgraphVersion {
  readonly schema: SchemaSource;
  /** The URL of the version's instance in each region that has one. */
  readonly urls: Readonly<Record<string, string>>;
}

/** The parts of a subgraph's config a version replaces. */
interface Versioned {
  readonly name: string;
  /** The base entry's label. */
  readonly version: string;
  readonly schema: SchemaSource;
  readonly urls: Readonly<Record<string, string>>;
  /** The other versions (the base entry's is the subgraph's own schema and urls). */
  readonly versions: Readonly<Record<string, SubgraphVersion>>;
}

export function schemaSource(schema: z.output<typeof versionEntry>['schema'], base: string): SchemaSource {
  return 'file' in schema ? { file: resolve(base, schema.file) } : { subgraphUrl: schema.subgraph_url };
}

/** `subgraphs.<name>.versions`, resolved against the config's folder; every problem names its key. */
export function resolveVersions(
  name: string,
  baseLabel: string,
  entries: Readonly<Record<string, z.output<typeof versionEntry>>>,
  regions: readonly string[],
  base: string,
  problem: (at: string, message: string) => void,
): Record<string, SubgraphVersion> {
  const versions: Record<string, SubgraphVersion> = {};
  for (const [label, entry] of Object.entries(entries)) {
    if (label === baseLabel) problem(`subgraphs.${name}.versions.${label}`, `"${label}" is the label of the base entry (subgraphs.${name}.version): name another version`);
    for (const region of Object.keys(entry.urls)) if (!regions.includes(region)) problem(`subgraphs.${name}.versions.${label}.urls.${region}`, `"${region}" is not one of regions [${regions.join(', ')}]`);
    versions[label] = { schema: schemaSource(entry.schema, base), urls: entry.urls };
  }
  return versions;
}

/** A subgraph's version labels, the base entry's first. */
export function labelsOf(subgraph: Pick<Versioned, 'version' | 'versions'>): string[] {
  return [subgraph.version, ...Object.keys(subgraph.versions)];
}

/** One version's SDL source and instances; the base entry's are the subgraph's own. Undefined: no such version. */
export function versionOf(subgraph: Pick<Versioned, 'version' | 'versions' | 'schema' | 'urls'>, label: string): SubgraphVersion | undefined {
  return label === subgraph.version ? { schema: subgraph.schema, urls: subgraph.urls } : subgraph.versions[label];
}

/** How a subgraph's instances of one version are named in metrics, /status and errors: the base entry keeps its name. */
export function instanceName(subgraph: Pick<Versioned, 'name' | 'version'>, label: string): string {
  return label === subgraph.version ? subgraph.name : `${subgraph.name}@${label}`;
}

/** The subgraph as its version `label` is deployed: that version's SDL and instances, under the same name in the supergraph. */
export function subgraphAt<S extends Versioned>(subgraph: S, label: string): S {
  const version = versionOf(subgraph, label);
  if (!version) throw new Error(`subgraph ${subgraph.name} has no version "${label}"`);
  return { ...subgraph, schema: version.schema, urls: version.urls };
}
