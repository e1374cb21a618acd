import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import type { SupergraphManager, SupergraphSdlHook } from '@apollo/gateway';
import { logger } from '../runtime/logger.js';
import type { CompositionResult } from './compose.js';
import type { GeofedConfig } from './config.js';

export interface SupergraphStatus {
  /** First 12 hex of the sha256 of the supergraph being served. */
  readonly version: string;
  readonly loadedAt: string;
  /** Why the last reload was refused, while the previous supergraph keeps serving. */
  readonly lastError?: string;
}

export type ReloadResult = { readonly ok: true; readonly version: string; readonly changed: boolean } | { readonly ok: false; readonly version: string; readonly errors: readonly string[] };

const versionOf = (sdl: string) => createHash('sha256').update(sdl).digest('hex').slice(0, 12);

/**
 * The supergraph Apollo Gateway serves, and its hot reload: `reload()`
 * re-reads the config and recomposes its subgraph SDL files, and hands a
 * supergraph that composes to the gateway, which swaps it between requests
 * (in-flight requests finish on the plan they started with). One that does
 * not compose is logged and refused: the previous supergraph keeps serving.
 */
export class SupergraphSource implements SupergraphManager {
  private update: Parameters<SupergraphSdlHook>[0]['update'] | undefined;
  private sdl: string;
  private status: SupergraphStatus;
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    initialSdl: string,
    /** The config as it is now (re-read on every reload). */
    private readonly loadConfig: () => GeofedConfig,
    /** Told of every new config that composed, before the gateway swaps (URLs of the data sources). */
    private readonly onConfig: (config: GeofedConfig) => void = () => {},
    /** How a config becomes a supergraph: composing its subgraphs' SDL, or (drop-in mode) reading a composed file. */
    private readonly compose: (config: GeofedConfig) => Promise<CompositionResult>,
  ) {
    this.sdl = initialSdl;
    this.status = { version: versionOf(initialSdl), loadedAt: new Date().toISOString() };
  }

  async initialize({ update }: Parameters<SupergraphSdlHook>[0]) {
    this.update = update;
    return { supergraphSdl: this.sdl, cleanup: async () => this.unwatch() };
  }

  current(): SupergraphStatus {
    return this.status;
  }

  async reload(): Promise<ReloadResult> {
    let errors: readonly string[];
    try {
      const config = this.loadConfig();
      const result = await this.compose(config);
      if (result.ok) {
        if (result.supergraphSdl === this.sdl) return { ok: true, version: this.status.version, changed: false };
        this.onConfig(config);
        this.update?.(result.supergraphSdl);
        this.sdl = result.supergraphSdl;
        this.status = { version: versionOf(this.sdl), loadedAt: new Date().toISOString() };
        logger.info({ version: this.status.version }, 'supergraph reloaded');
        return { ok: true, version: this.status.version, changed: true };
      }
      errors = result.errors;
    } catch (error) {
      errors = [(error as Error).message];
    }
    this.status = { ...this.status, lastError: errors.join('; ') };
    logger.error({ errors, version: this.status.version }, 'reload refused: the new supergraph does not compose; the previous one keeps serving');
    return { ok: false, version: this.status.version, errors };
  }

  /** Reloads when the config file or a subgraph SDL file changes (debounced: editors write in several steps). */
  watch(): void {
    const config = this.loadConfig();
    const files = [config.file, config.supergraphPath, ...config.subgraphs.map((s) => s.schema.file)].filter((f): f is string => f !== undefined && f !== '');
    for (const file of new Set(files)) {
      this.watchers.push(
        watch(file, () => {
          clearTimeout(this.timer);
          this.timer = setTimeout(() => void this.reload(), 200);
        }),
      );
    }
  }

  unwatch(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }
}
