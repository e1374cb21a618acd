import { Counter, type Registry } from 'prom-client';
import { logger } from '../runtime/logger.js';
import { registeredMetric } from '../runtime/registered-metric.js';
import type { GeofedConfig } from './config.js';
import { nextEntry, type RolloutCommand } from './rollout-commands.js';
import { judge, latencyBucket } from './rollout-guard.js';
import { rolloutGauges } from './rollout-metrics.js';
import type { RolloutRecorder, RolloutSample } from './rollout-plugin.js';
import { defaultRolloutPollMs, rolloutProblems } from './rollout-settings.js';
import { rolloutKey, splitKey, type RolloutEntry, type RolloutKey, type RolloutView } from './rollout-state.js';
import type { CountBatch, RolloutStore, Side } from './rollout-store.js';

export interface RolloutRuntimeOptions {
  readonly store: RolloutStore;
  /** The config of the pipeline serving now; undefined before the first is built. */
  readonly current: () => GeofedConfig | undefined;
  /** Builds the request path again (config-reload.ts): from the config file and the live versions. */
  readonly reload: () => Promise<unknown>;
  readonly registry: Registry;
}

export type ApplyResult = { readonly ok: true; readonly entry: RolloutEntry } | { readonly ok: false; readonly problems: readonly string[]; readonly unavailable?: boolean };

/** A window is this many slots: the guard reads the last ones, the current one included. */
const slotsPerWindow = 5;

type Labels = Record<string, Record<string, { stable: string; canary?: string }>>;

/**
 * The live rollout state a gateway serves, kept across reloads. Every `rollout.poll_ms` it adds its counts to the
 * region's in the store, reads the state every gateway shares, rebuilds its request path when a region's versions
 * changed (a promotion, a new canary), and runs the guard over the region's window: a canary that breaches it is
 * rolled back with a compare-and-set, so one gateway does it and every other one sees it at its next poll. A
 * share that changes needs no rebuild: routing reads it here for each new request, and a request in flight
 * finishes on the variant it started on.
 */
export class RolloutRuntime implements RolloutView, RolloutRecorder {
  private stored = new Map<RolloutKey, RolloutEntry>();
  private readonly pending = new Map<string, Omit<CountBatch, 'requests' | 'errors' | 'latency'> & { requests: number; errors: number; latency: Record<number, number> }>();
  private lastDeployed: GeofedConfig | undefined;
  private attempted: string | undefined;
  private storeDown = false;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private stopped = false;
  private readonly rollbacks: Counter<'region' | 'subgraph' | 'version' | 'by'>;

  constructor(private readonly options: RolloutRuntimeOptions) {
    const { registry } = options;
    this.rollbacks = registeredMetric(
      registry,
      'geofed_rollout_rollbacks_total',
      () => new Counter({ name: 'geofed_rollout_rollbacks_total', help: 'Canaries rolled back, by region, subgraph, canary version and who (guard or operator); counted by the gateway that did it.', labelNames: ['region', 'subgraph', 'version', 'by'] as const, registers: [registry] }),
    );
    rolloutGauges(registry, this);
  }

  get storeKind(): RolloutStore['kind'] {
    return this.options.store.kind;
  }

  private config(): GeofedConfig | undefined {
    return this.options.current() ?? this.lastDeployed;
  }

  /** A stored entry the config can serve: its subgraph, region and versions are the config's. */
  private usable(config: GeofedConfig, key: RolloutKey, entry: RolloutEntry): boolean {
    const { region, subgraph } = splitKey(key);
    const declared = config.subgraphs.find((s) => s.name === subgraph);
    return declared !== undefined && config.regions.includes(region) && rolloutProblems(declared, region, entry).length === 0;
  }

  entry(region: string, subgraph: string): RolloutEntry | undefined {
    const config = this.config();
    const key = rolloutKey(region, subgraph);
    const stored = this.stored.get(key);
    if (stored && config && this.usable(config, key, stored)) return stored;
    const configured = config?.rollout.regions[region]?.[subgraph];
    return configured && { ...configured, revision: 0 };
  }

  /** Every (region, subgraph) the config or the store has an entry for. */
  keys(): RolloutKey[] {
    const config = this.config();
    const configured = Object.entries(config?.rollout.regions ?? {}).flatMap(([region, entries]) => Object.keys(entries).map((subgraph) => rolloutKey(region, subgraph)));
    const stored = [...this.stored].flatMap(([key, entry]) => (config && this.usable(config, key, entry) ? [key] : []));
    return [...new Set([...configured, ...stored])].sort();
  }

  /** Where an entry comes from: the store (a command or the guard wrote it), else the config. */
  sourceOf(region: string, subgraph: string): 'store' | 'config' {
    const config = this.config();
    const key = rolloutKey(region, subgraph);
    const stored = this.stored.get(key);
    return stored && config && this.usable(config, key, stored) ? 'store' : 'config';
  }

  /** The config with each region's versions as the live state says; the shares stay live, out of the config. */
  deployed(config: GeofedConfig): GeofedConfig {
    const regions: Record<string, Record<string, GeofedConfig['rollout']['regions'][string][string]>> = Object.fromEntries(Object.entries(config.rollout.regions).map(([r, entries]) => [r, { ...entries }]));
    for (const [key, entry] of this.stored) {
      if (!this.usable(config, key, entry)) continue;
      const { region, subgraph } = splitKey(key);
      (regions[region] ??= {})[subgraph] = { stable: entry.stable, ...(entry.canary === undefined ? {} : { canary: entry.canary }), percent: 0, pinned: [] };
    }
    this.lastDeployed = { ...config, rollout: { ...config.rollout, regions } };
    return this.lastDeployed;
  }

  record({ region, subgraph, label, ms, failed }: RolloutSample): void {
    const config = this.config();
    const live = this.entry(region, subgraph);
    if (!config || live?.canary === undefined || live.rollback !== undefined) return;
    const side: Side | undefined = label === live.canary ? 'canary' : label === live.stable ? 'stable' : undefined;
    if (side === undefined) return;
    const key = rolloutKey(region, subgraph);
    const slot = Math.floor(Date.now() / slotMs(config));
    const id = `${key}|${live.revision}|${side}|${slot}`;
    const batch = this.pending.get(id) ?? { key, revision: live.revision, side, slot, requests: 0, errors: 0, latency: {} };
    batch.requests += 1;
    if (failed) batch.errors += 1;
    const bucket = latencyBucket(ms);
    batch.latency[bucket] = (batch.latency[bucket] ?? 0) + 1;
    this.pending.set(id, batch);
  }

  /** Reads the shared state; a store that does not answer leaves the last state serving. */
  async refresh(): Promise<void> {
    try {
      this.stored = await this.options.store.entries();
      this.storeAnswered();
    } catch (error) {
      this.storeFailed(error);
    }
  }

  start(): void {
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.tick().finally(schedule), this.config()?.rollout.pollMs ?? defaultRolloutPollMs);
      this.timer.unref();
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.flush();
    await this.options.store.close();
  }

  /** One poll: counts out, state in, a rebuild if the versions changed, the guard. */
  async tick(): Promise<void> {
    // Without another version of any subgraph there is nothing to roll out, and nothing to ask a shared store for.
    const config = this.options.current();
    if (this.ticking || !config || config.subgraphs.every((subgraph) => Object.keys(subgraph.versions).length === 0)) return;
    this.ticking = true;
    try {
      await this.flush();
      await this.refresh();
      await this.rebuildIfRelabelled();
      await this.guard();
    } finally {
      this.ticking = false;
    }
  }

  private async flush(): Promise<void> {
    const config = this.config();
    if (this.pending.size === 0 || !config) return;
    const batches = [...this.pending.values()];
    this.pending.clear();
    try {
      await this.options.store.add(batches, 2 * config.rollout.guard.windowMs);
    } catch (error) {
      // Dropped: the guard judges the region on the counts that did arrive.
      this.storeFailed(error);
    }
  }

  private async rebuildIfRelabelled(): Promise<void> {
    const config = this.options.current();
    if (!config) return;
    const wanted = labelsKey(this.deployed(config));
    if (wanted === labelsKey(config)) {
      this.attempted = undefined;
      return;
    }
    // Once per change: a version that does not compose is reported by that reload, not retried at every poll.
    if (wanted === this.attempted) return;
    this.attempted = wanted;
    logger.info({ versions: JSON.parse(wanted) as unknown }, 'rollout: the versions a region runs changed; building the request path again');
    await this.options.reload();
  }

  private async guard(): Promise<void> {
    const config = this.options.current();
    if (!config?.rollout.guard.enabled) return;
    const slots = windowSlots(config, Date.now());
    for (const [region, entries] of Object.entries(config.rollout.regions)) {
      for (const [subgraph, configured] of Object.entries(entries)) {
        const live = this.entry(region, subgraph);
        if (configured.canary === undefined || live?.canary !== configured.canary || live.rollback !== undefined || (live.percent === 0 && live.pinned.length === 0)) continue;
        const key = rolloutKey(region, subgraph);
        try {
          const [canary, stable] = await Promise.all((['canary', 'stable'] as const).map((side) => this.options.store.counts(key, live.revision, side, slots)));
          const verdict = judge(canary!, stable!, config.rollout.guard, { canary: `${subgraph}@${live.canary}`, stable: `${subgraph}@${live.stable}` });
          if (verdict.breach) await this.rollBack(key, live, verdict.why);
        } catch (error) {
          this.storeFailed(error);
        }
      }
    }
  }

  private async rollBack(key: RolloutKey, live: RolloutEntry, why: string): Promise<void> {
    const at = new Date().toISOString();
    const version = live.canary!;
    const next: RolloutEntry = { ...live, percent: 0, revision: live.revision + 1, updatedAt: at, rollback: { at, by: 'guard', reason: why, version } };
    const expected = this.stored.get(key)?.revision ?? 0;
    if (!(await this.options.store.write(key, next, expected))) return void (await this.refresh());
    this.stored.set(key, next);
    const { region, subgraph } = splitKey(key);
    this.rollbacks.inc({ region, subgraph, version, by: 'guard' });
    logger.error({ region, subgraph, version, stable: live.stable, reason: why }, `rollout: ${subgraph}@${version} rolled back in ${region} by the guard: ${why}`);
  }

  /** A rollout command (rollout-admin.ts): written with a compare-and-set, then served here before it answers. */
  async apply(command: RolloutCommand): Promise<ApplyResult> {
    const config = this.options.current();
    if (!config) return { ok: false, problems: ['the gateway has not loaded its supergraph yet'], unavailable: true };
    const key = rolloutKey(command.region, command.subgraph);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        this.stored = await this.options.store.entries();
        const expected = this.stored.get(key)?.revision ?? 0;
        const running = this.entry(command.region, command.subgraph);
        const next = nextEntry(config, running && { ...running, revision: expected }, command, new Date());
        if ('problems' in next) return { ok: false, problems: next.problems };
        if (!(await this.options.store.write(key, next.entry, expected))) continue;
        this.stored.set(key, next.entry);
        this.storeAnswered();
        if (command.action === 'rollback') this.rollbacks.inc({ region: command.region, subgraph: command.subgraph, version: next.entry.rollback!.version, by: 'operator' });
        logger.warn({ ...command, entry: next.entry }, `rollout: ${command.action} ${command.subgraph}${command.action === 'rollback' ? '' : `@${command.version}`} in ${command.region}`);
        await this.rebuildIfRelabelled();
        return { ok: true, entry: next.entry };
      } catch (error) {
        this.storeFailed(error);
        return { ok: false, problems: [`the rollout store (${this.options.store.kind}) cannot be reached: ${(error as Error).message}`], unavailable: true };
      }
    }
    return { ok: false, problems: [`${command.subgraph} in ${command.region} was changed by another write meanwhile: run the command again`] };
  }

  private storeAnswered(): void {
    if (this.storeDown) logger.warn({ store: this.options.store.kind }, 'rollout store reachable again');
    this.storeDown = false;
  }

  private storeFailed(error: unknown): void {
    if (!this.storeDown) logger.warn({ store: this.options.store.kind, err: (error as Error).message }, 'rollout store unreachable: the last state keeps serving, counts meanwhile are dropped');
    this.storeDown = true;
  }

  /** The window's slots now, for `rollout status` (rollout-status.ts). */
  windowSlots(): number[] {
    const config = this.config();
    return config ? windowSlots(config, Date.now()) : [];
  }

  get store(): RolloutStore {
    return this.options.store;
  }
}

function slotMs(config: GeofedConfig): number {
  return Math.max(1, Math.floor(config.rollout.guard.windowMs / slotsPerWindow));
}

function windowSlots(config: GeofedConfig, now: number): number[] {
  const current = Math.floor(now / slotMs(config));
  return Array.from({ length: slotsPerWindow }, (_, i) => current - i);
}

/** What each region runs, without the shares: a change of it needs the request path built again. */
function labelsKey(config: GeofedConfig): string {
  const labels: Labels = {};
  for (const [region, entries] of Object.entries(config.rollout.regions).sort(([a], [b]) => a.localeCompare(b))) {
    labels[region] = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)).map(([s, e]) => [s, { stable: e.stable, ...(e.canary === undefined ? {} : { canary: e.canary }) }]));
  }
  return JSON.stringify(labels);
}
