import type { Metric, Registry } from 'prom-client';

/**
 * The registry's metric of that name, created on first use: a gateway builds
 * its plugins and clients again on every reload, and a registry refuses a
 * name twice, so the counters carry on across reloads.
 */
export function registeredMetric<T extends Metric>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
