import type { FuzzReport, PrintedRequest } from './fuzz.js';

// The fuzz report as the terminal shows it (the JSON report, --json FILE, is FuzzReport itself).

const table = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([key, n]) => `  ${key.padEnd(34)} ${String(n).padStart(6)}`)
    .join('\n');

/** Control characters escaped, so that a terminal shows them (and a request prints on one line). */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** A bearer JWT by its header and claims (what matters to reproduce it: sign the same claims), the rest as it is. */
export function describeAuthorization(value: string): string {
  const match = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]*)$/.exec(value);
  if (!match) return shorten(value, 120);
  try {
    const header = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')) as unknown;
    const { iat: _iat, ...claims } = JSON.parse(Buffer.from(match[2]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const exp = typeof claims.exp === 'number' ? ` (exp ${claims.exp - Math.floor(Date.now() / 1000) > 0 ? 'in the future' : 'past'})` : '';
    delete claims.exp;
    return `Bearer <JWT ${JSON.stringify(header)} ${shorten(JSON.stringify(claims), 200)}${exp}${match[3] ? "" : ", unsigned"}>`;
  } catch {
    return shorten(value, 120);
  }
}

/** A request in a form one can paste: curl when the body is printable text, else the JSON of its parts. */
export function formatRequest(request: PrintedRequest, maxBody = 600): string {
  const headers = Object.entries(request.headers).map(([k, v]) => `${k}: ${k === 'authorization' ? describeAuthorization(v) : printable(shorten(v, 120))}`);
  const lines = [`${request.method} ${printable(shorten(request.path, 400))}${request.transport === 'reuse' ? '   (on a connection of its own, then GET /healthz on the same connection)' : ''}`, ...headers.map((h) => `  ${h}`)];
  for (const line of request.rawHeaderLines ?? []) lines.push(`  ${printable(line)}   (sent as bytes)`);
  if (request.bodyBase64 !== undefined) lines.push(`  body (${request.bodyBytes} bytes, not UTF-8, base64): ${shorten(request.bodyBase64, maxBody)}`);
  else if (request.body !== undefined) lines.push(`  body (${request.bodyBytes} bytes): ${printable(shorten(request.body, maxBody))}`);
  return lines.join('\n');
}

const breakdown = (groups: Record<string, Record<string, number>>) =>
  Object.entries(groups)
    .map(([key, statuses]) => [key, statuses, Object.values(statuses).reduce((a, b) => a + b, 0)] as const)
    .sort(([, , a], [, , b]) => b - a)
    .map(([key, statuses, total]) => `  ${key.padEnd(34)} ${String(total).padStart(6)}   ${Object.entries(statuses).sort(([, a], [, b]) => b - a).map(([s, n]) => `${s}: ${n}`).join(', ')}`)
    .join('\n');

export function formatReport(report: FuzzReport): string {
  const out: string[] = [];
  out.push(`fuzz: seed ${report.seed}, ${report.sent}/${report.count} operations, concurrency ${report.concurrency}, ${(report.durationMs / 1000).toFixed(1)} s, latency p50 ${report.latencyMs.p50.toFixed(1)} ms p99 ${report.latencyMs.p99.toFixed(1)} ms max ${report.latencyMs.max.toFixed(0)} ms`);
  out.push('', 'by HTTP status:', table(report.byStatus));
  out.push('', 'by first error code (- = no error):', table(report.byCode));
  out.push('', 'by status and first error code:', table(report.byStatusAndCode));
  out.push('', `served 200 with data: ${report.servedWithData} (${(report.servedRatio * 100).toFixed(1)}%)`);
  out.push(`5xx: ${report.fiveXX}   hangs (> ${report.deadlineMs} ms): ${report.hangs}   no HTTP answer: ${report.networkErrors}   crashes: ${report.crashes.length}`);
  for (const crash of report.crashes) out.push(`  crash: ${crash}`);
  if (report.failures.length > 0) {
    out.push('', 'distinct failures (status, code, message prefix):');
    for (const f of report.failures) {
      out.push('', `* ${f.status} ${f.code ?? '-'} "${f.messagePrefix}" × ${f.count}  (cases ${f.cases.join(', ')}${f.count > f.cases.length ? ', …' : ''})`);
      out.push(`  smallest case ${f.smallest.index}: caller ${f.smallest.caller}, envelope ${f.smallest.shape}${f.smallest.defects.length ? `, defects ${f.smallest.defects.join(' ')}` : ''}`);
      out.push(formatRequest(f.smallest.request).replace(/^/gm, '    '));
      if (f.previousOnConnection) {
        out.push(`  sent just before on the same connection: case ${f.previousOnConnection.index} (${f.previousOnConnection.shape}), answered ${f.previousOnConnection.status}`);
        out.push(formatRequest(f.previousOnConnection.request, 300).replace(/^/gm, '    '));
      }
      if (f.minimized) {
        out.push(`  minimized (${f.minimized.attempts} re-sends):`);
        out.push(formatRequest(f.minimized.request).replace(/^/gm, '    '));
        for (const line of f.minimized.serverLog) out.push(`    server log: ${shorten(line, 300)}`);
      }
    }
  }
  if (report.findings.length > 0) {
    out.push('', 'security findings:');
    const seen = new Set<string>();
    for (const f of report.findings) {
      const key = `${f.oracle} ${f.detail.slice(0, 40)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(`* ${f.oracle} (case ${f.index}): ${shorten(f.detail, 300)}`);
      out.push(formatRequest(f.request, 300).replace(/^/gm, '    '));
    }
  }
  if (Object.keys(report.contract).length > 0) {
    out.push('', 'answers that disagree with docs/errors.md (reported, not failing the run):');
    for (const [key, entry] of Object.entries(report.contract).sort(([, a], [, b]) => b.count - a.count)) {
      out.push(`* ${key} × ${entry.count}  (cases ${entry.cases.join(', ')})`);
      out.push(formatRequest(entry.request, 300).replace(/^/gm, '    '));
    }
  }
  if (Object.keys(report.serverLog).length > 0) {
    out.push('', 'the stack logged (warn and above):');
    for (const [line, n] of Object.entries(report.serverLog).sort(([, a], [, b]) => b - a)) out.push(`  ${String(n).padStart(6)}  ${shorten(line, 260)}`);
  }
  out.push('', 'generated callers (statuses they got):', breakdown(report.byCaller));
  out.push('', 'generated envelopes (statuses they got):', breakdown(report.byShape));
  out.push('', report.ok ? 'PASS' : `FAIL\n${report.problems.map((p) => `  - ${p}`).join('\n')}`);
  // Control characters the requests and messages carry, escaped so the terminal shows them.
  return out.join('\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
