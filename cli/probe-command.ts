import { Registry } from 'prom-client';
import { loadConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { formatProbeReport } from '../gateway/probes/format.js';
import { ProbeLoop } from '../gateway/probes/probe-loop.js';
import { ProbeMetrics } from '../gateway/probes/probe-metrics.js';
import { runProbeRound } from '../gateway/probes/prober.js';
import { probeTargets, probeTokens } from '../gateway/probes/targets.js';
import { parseCommandArgs, UsageError, type Command } from '../runtime/command.js';
import { startHttpServer } from '../runtime/http-server.js';
import { setLogLevels } from '../runtime/logger.js';
import { runUntilSignalled } from '../runtime/process.js';

/** Where `--watch` serves its metrics without `--metrics-port`: the port Prometheus exporters of probes commonly use. */
const defaultMetricsPort = 9464;

const usage = `usage: geofed probe [--config FILE] [--region REGION]... [--requests N] [--watch [--metrics-port PORT]]
  --config FILE         supergraph.yaml: each region's gateway (gateways.<region>.url), the probes and their SLOs
                        (probes.*; default: GEOFED_CONFIG, else supergraph.yaml)
  --region REGION       probe only this region's gateway; repeat for several (default: every region with a gateway)
  --requests N          requests of each operation in each region (default: probes.requests)
  --watch               probe every probes.watch_interval_ms until Ctrl-C, printing each round, and serve the
                        figures as Prometheus metrics (geofed_probe_duration_seconds, geofed_probe_requests_total,
                        geofed_probe_errors_total, geofed_probe_slo_breached)
  --metrics-port PORT   where --watch serves /metrics (default: ${defaultMetricsPort})
Without --watch: one round, a table per region; exit 1 when a region breaches an SLO (probes.slo), else 0.
Signed-in probes carry tokens signed with GEOFED_JWT_SECRET, as \`geofed token\` signs them.`;

/**
 * `geofed probe`: synthetic probes through each region's gateway (docs/operations.md, "Synthetic probes"),
 * once with a verdict for CI and deploys, or on watch for Prometheus.
 */
export const probeCommand: Command = {
  usage,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      config: { type: 'string' },
      region: { type: 'string', multiple: true, default: [] },
      requests: { type: 'string' },
      watch: { type: 'boolean', default: false },
      'metrics-port': { type: 'string' },
    });
    const env = gatewayEnv();
    setLogLevels({ log: env.logLevel, audit: env.auditLogLevel });
    const config = loadConfig(values.config ?? env.configPath);
    const requests = values.requests === undefined ? config.probes.requests : wholeNumber('--requests', values.requests, 1);
    const settings = { ...config.probes, requests };
    const round = { settings, targets: probeTargets(config, values.region), tokenFor: probeTokens(env) };
    if (values['metrics-port'] !== undefined && !values.watch) throw new UsageError('--metrics-port goes with --watch');
    if (!values.watch) {
      const report = await runProbeRound(round);
      console.log(formatProbeReport(report));
      for (const breach of report.breaches) console.error(`geofed probe: SLO breached: ${breach.message}`);
      process.exitCode = report.breaches.length > 0 ? 1 : 0;
      return;
    }
    const port = values['metrics-port'] === undefined ? defaultMetricsPort : wholeNumber('--metrics-port', values['metrics-port'], 0, 65_535);
    await runUntilSignalled(async () => {
      const registry = new Registry();
      const loop = new ProbeLoop({ round: () => round, intervalMs: () => settings.watchIntervalMs, metrics: new ProbeMetrics(registry), onReport: (report) => console.log(`${formatProbeReport(report)}\n`) });
      const server = await startHttpServer({
        host: env.host,
        port,
        routes: {
          '/metrics': async (_req, res) => {
            const body = await registry.metrics();
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(body);
          },
        },
      });
      console.log(`geofed probe: probing ${round.targets.map((t) => t.region).join(', ')} every ${settings.watchIntervalMs} ms; metrics on ${server.url}/metrics`);
      loop.start();
      return {
        async stop() {
          await loop.stop();
          await server.stop(0);
        },
      };
    });
  },
};

function wholeNumber(option: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`${option}: "${text}" is not a whole number from ${min} to ${max}`);
  return value;
}
