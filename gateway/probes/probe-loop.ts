import { logger } from '../../runtime/logger.js';
import type { ProbeMetrics } from './probe-metrics.js';
import { runProbeRound, type ProbeReport, type ProbeRoundOptions } from './prober.js';

export interface ProbeLoopOptions {
  /** What a round probes, read before each round: a reload's settings apply from the next one; undefined skips it. */
  readonly round: () => Omit<ProbeRoundOptions, 'onSample'> | undefined;
  /** Between the end of a round and the start of the next, read after each round. */
  readonly intervalMs: () => number;
  readonly metrics: ProbeMetrics;
  /** Each round's report once it is done (`geofed probe --watch` prints it). */
  readonly onReport?: (report: ProbeReport) => void;
}

/**
 * Probes round after round until stopped (`geofed probe --watch`, a gateway with `probes.watch`). Rounds never
 * overlap: the next starts an interval after the last one ended, so a slow region delays the rounds instead of
 * piling up requests on it.
 */
export class ProbeLoop {
  private last: ProbeReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ProbeLoopOptions) {}

  /** The last round's report; undefined until one has finished. */
  latest(): ProbeReport | undefined {
    return this.last;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops after the round in flight, if any, has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.options.intervalMs());
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const round = this.options.round();
    if (!round) return;
    try {
      const report = await runProbeRound({ ...round, onSample: (sample) => this.options.metrics.sample(sample) });
      this.last = report;
      this.options.metrics.round(report);
      for (const breach of report.breaches) logger.warn({ region: breach.region, figure: breach.figure, value: breach.value, slo: breach.slo }, `probe SLO breached: ${breach.message}`);
      this.options.onReport?.(report);
    } catch (error) {
      logger.error({ error: (error as Error).message }, 'a probe round failed');
    }
  }
}
