import { percent, type OperationFigures, type ProbeReport } from './prober.js';

const columns = ['operation', 'requests', 'errors', 'error rate', 'p50 ms', 'p95 ms'] as const;

const ms = (value: number | null) => (value === null ? '-' : value.toFixed(1));

/** A round as a terminal shows it: a table per region, its operations and their total, and its verdict. */
export function formatProbeReport(report: ProbeReport): string {
  const { slo } = report;
  const lines = [`probes of ${report.startedAt} (SLO: p95 ≤ ${slo.p95Ms} ms, error rate ≤ ${percent(slo.errorRate)})`];
  for (const region of report.regions) {
    const breaches = report.breaches.filter((b) => b.region === region.region);
    lines.push('', `${region.region}  ${region.url}  ${breaches.length === 0 ? 'SLO met' : `SLO BREACHED (${breaches.map((b) => b.figure).join(', ')})`}`);
    const row = (name: string, f: Omit<OperationFigures, 'operation'>) => [name, String(f.requests), String(f.errors), f.requests === 0 ? '-' : percent(f.errors / f.requests), ms(f.p50Ms), ms(f.p95Ms)];
    const rows = [[...columns], ...region.operations.map((o) => row(o.operation, o)), row('all', region)];
    const widths = columns.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) lines.push(`  ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`);
    for (const o of region.operations) if (o.lastError !== undefined) lines.push(`  ${o.operation}: last error ${o.lastError}`);
    if (region.skipped.length > 0) lines.push(`  skipped ${region.skipped.join(', ')}: no probe tenant in probes.tenants.${region.region}`);
  }
  return lines.join('\n');
}
