import type { RunningTracing } from './tracing-sdk.js';

/**
 * Starts tracing when the environment asks for an OTLP export
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and
 * not when `OTEL_SDK_DISABLED` or `OTEL_TRACES_EXPORTER=none` says no. Off
 * otherwise, and then the SDK is not even loaded (docs/observability.md).
 */
export async function startTracingFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<RunningTracing | undefined> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || /^(true|1)$/i.test(env.OTEL_SDK_DISABLED ?? '') || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const { startTracing } = await import('./tracing-sdk.js');
  return startTracing();
}
