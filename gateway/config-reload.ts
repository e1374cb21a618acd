import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { logger } from '../runtime/logger.js';
import type { CompositionResult } from './compose.js';
import { ConfigError, type GeofedConfig } from './config.js';
import type { Pipeline } from './pipeline.js';

/** Why a reload was refused: the file is not a valid config, a subgraph's SDL could not be read, or the SDL does not compose. */
export type ReloadFailure = 'config' | 'schema_source' | 'composition';

export interface SupergraphStatus {
  /** First 12 hex of the sha256 of the supergraph being served. */
  readonly version: string;
  /** First 12 hex of the sha256 of the config (and persisted-query manifest) being served. */
  readonly configVersion: string;
  readonly loadedAt: string;
  /** Why the last reload was refused, while the previous pipeline keeps serving; gone after a reload that succeeds. */
  readonly lastError?: string;
  readonly lastErrorKind?: ReloadFailure;
}

export type ReloadResult =
  | { readonly ok: true; readonly version: string; readonly configVersion: string; readonly changed: boolean }
  | { readonly ok: false; readonly kind: ReloadFailure; readonly version: string; readonly errors: readonly string[] };

/** A pipeline build refused for what its kind says (a variant's SDL that cannot be read, or does not compose). */
export class ReloadRefused extends Error {
  constructor(
    readonly kind: ReloadFailure,
    readonly errors: readonly string[],
  ) {
    super(errors.join('\n'));
  }
}

/** How a config becomes a supergraph: composing its subgraphs' SDL, or (drop-in mode) reading a composed file. */
export type Composer = (config: GeofedConfig) => Promise<CompositionResult>;

export interface ConfigReloaderOptions {
  /** The config as it is now (re-read on every reload). */
  readonly loadConfig: () => GeofedConfig;
  readonly compose: Composer;
  /** A pipeline of a config and its supergraph (pipeline.ts). */
  readonly build: (config: GeofedConfig, supergraphSdl: string) => Promise<Pipeline>;
}

/** Keys read once, when the process starts: a reload that changes one keeps the running value and says so. */
const restartOnly = [
  ['gateway.port', 'port'],
  ['gateway.admin_port', 'adminPort'],
  ['gateway.region', 'region'],
  ['gateway.landing_page', 'landingPage'],
] as const;

/** Editors write a file in several steps: one reload after the last. */
const watchDebounceMs = 200;

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * Hot reload of everything supergraph.yaml says: `reload()` reads the config
 * again, composes its subgraphs' SDL, builds a whole new pipeline (plugins,
 * limits, clients: every key applies) and swaps it in; requests in flight
 * finish on the pipeline they started with, which is then retired. A reload
 * that fails keeps the running pipeline and says what failed: a config that
 * is not valid, a subgraph SDL that cannot be read, or SDL that does not
 * compose. Keys read only at start (ports, the region) keep their running
 * value, with a log line naming each.
 */
export class ConfigReloader {
  private pipeline: Pipeline;
  private state: SupergraphStatus;
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly options: ConfigReloaderOptions,
    initial: Pipeline,
  ) {
    this.pipeline = initial;
    this.state = { version: hash(initial.supergraphSdl), configVersion: configVersionOf(initial.config), loadedAt: new Date().toISOString() };
  }

  current(): Pipeline {
    return this.pipeline;
  }

  status(): SupergraphStatus {
    return this.state;
  }

  /** One reload at a time, in the order asked (SIGHUP, a file change, the API). */
  reload(): Promise<ReloadResult> {
    const next = this.queue.then(() => this.reloadNow());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(): Promise<ReloadResult> {
    const running = this.pipeline;
    let config: GeofedConfig;
    try {
      config = this.keepRestartOnlyKeys(this.options.loadConfig(), running.config);
    } catch (error) {
      return this.refuse('config', [(error as Error).message]);
    }
    let result;
    try {
      result = await this.options.compose(config);
    } catch (error) {
      return this.refuse(error instanceof ConfigError ? 'config' : 'schema_source', [(error as Error).message]);
    }
    if (!result.ok) return this.refuse(result.stage === 'sources' ? 'schema_source' : 'composition', result.errors);
    const version = hash(result.supergraphSdl);
    const configVersion = configVersionOf(config);
    if (this.stopped) return { ok: true, version: this.state.version, configVersion: this.state.configVersion, changed: false };
    if (version === this.state.version && configVersion === this.state.configVersion) {
      this.succeeded(version, configVersion, this.state.loadedAt);
      return { ok: true, version, configVersion, changed: false };
    }
    let built: Pipeline;
    try {
      built = await this.options.build(config, result.supergraphSdl);
    } catch (error) {
      if (error instanceof ReloadRefused) return this.refuse(error.kind, error.errors);
      return this.refuse('config', [(error as Error).message]);
    }
    if (this.stopped) {
      await built.retire(0);
      return { ok: true, version: this.state.version, configVersion: this.state.configVersion, changed: false };
    }
    const previous = { version: this.state.version, config_version: this.state.configVersion };
    this.pipeline = built;
    this.succeeded(version, configVersion, new Date().toISOString());
    logger.info({ version, config_version: configVersion, previous }, 'reloaded: the new config and supergraph serve every new request');
    if (this.watchers.length > 0) this.watch();
    void running.retire(config.gateway.drainTimeoutMs).catch((error: unknown) => logger.error({ err: (error as Error).message }, 'retiring the previous pipeline failed'));
    return { ok: true, version, configVersion, changed: true };
  }

  private succeeded(version: string, configVersion: string, loadedAt: string): void {
    this.state = { version, configVersion, loadedAt };
  }

  private refuse(kind: ReloadFailure, errors: readonly string[]): ReloadResult {
    this.state = { ...this.state, lastError: errors.join('; '), lastErrorKind: kind };
    const what = { config: 'the config is not valid', schema_source: 'a subgraph\'s schema could not be read', composition: 'the subgraphs do not compose' }[kind];
    logger.error({ kind, errors, version: this.state.version, config_version: this.state.configVersion }, `reload refused: ${what}; the running config and supergraph keep serving`);
    return { ok: false, kind, version: this.state.version, errors };
  }

  private keepRestartOnlyKeys(next: GeofedConfig, running: GeofedConfig): GeofedConfig {
    let kept = next;
    for (const [key, field] of restartOnly) {
      if (next.gateway[field] === running.gateway[field]) continue;
      logger.warn({ key, running: running.gateway[field], configured: next.gateway[field] }, `${key} changed: it applies at the next restart; the running value stays`);
      kept = { ...kept, gateway: { ...kept.gateway, [field]: running.gateway[field] } };
    }
    return kept;
  }

  /** Reloads when the config, a subgraph SDL file, the supergraph file or the persisted-query manifest changes. */
  watch(): void {
    this.unwatch();
    const { config } = this.pipeline;
    const files = [config.file, config.supergraphPath, config.persistedQueries.manifestPath, ...config.subgraphs.map((s) => s.schema.file)].filter((f): f is string => f !== undefined && f !== '');
    for (const file of new Set(files)) {
      try {
        this.watchers.push(
          watch(file, () => {
            clearTimeout(this.timer);
            this.timer = setTimeout(() => void this.reload(), watchDebounceMs);
          }),
        );
      } catch (error) {
        logger.warn({ file, err: (error as Error).message }, 'cannot watch a file of the config: its changes reload on SIGHUP only');
      }
    }
  }

  unwatch(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  /** No reload swaps anything in after this (the process is draining). */
  stop(): void {
    this.stopped = true;
    this.unwatch();
  }
}

/** The config's version: its values and the persisted-query manifest it names (a manifest edit is a config change). */
function configVersionOf(config: GeofedConfig): string {
  const manifest = config.persistedQueries.manifestPath;
  let manifestText = '';
  if (manifest !== undefined) {
    try {
      manifestText = readFileSync(manifest, 'utf8');
    } catch {
      // Unreadable: the pipeline build reports it.
    }
  }
  return hash(`${JSON.stringify(config)}\n${manifestText}`);
}
