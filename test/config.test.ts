import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../gateway/config.js';

const good = readFileSync('supergraph.yaml', 'utf8');

function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'geofed-config-'));
  const file = join(dir, 'supergraph.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(text: string, env: NodeJS.ProcessEnv = {}): string {
  const file = writeConfig(text);
  try {
    loadConfig(file, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(file);
    return message;
  }
  throw new Error('expected the config to be refused');
}

describe('supergraph.yaml', () => {
  it('loads the committed config with every subgraph in every region', () => {
    const config = loadConfig('supergraph.yaml', {});
    expect(config.regions).toEqual(['us', 'eu', 'apac', 'latam']);
    expect(config.gateway.region).toBe('us');
    expect(config.subgraphs.map((s) => [s.name, s.scope, Object.keys(s.urls)])).toEqual([
      ['catalog', 'global', ['us', 'eu', 'apac', 'latam']],
      ['users', 'regional', ['us', 'eu', 'apac', 'latam']],
      ['orders', 'regional', ['us', 'eu', 'apac', 'latam']],
    ]);
  });

  it('lets the environment override the region, the port and any subgraph URL', () => {
    const config = loadConfig('supergraph.yaml', { GEOFED_REGION: 'eu', PORT: '5000', GEOFED_SUBGRAPH_URL_USERS_EU: 'https://users.eu.internal/graphql' });
    expect(config.gateway).toMatchObject({ region: 'eu', port: 5000 });
    expect(config.subgraphs.find((s) => s.name === 'users')!.urls.eu).toBe('https://users.eu.internal/graphql');
  });

  it('names the key and what was expected', () => {
    expect(errorOf(good.replace(/scope: regional .*owns PII.*/, 'scope: local'))).toMatch(/subgraphs\.users\.scope: .*"global"\|"regional"/);
    expect(errorOf(good.replace('  # port: 4000', '  port: "four thousand"'))).toMatch(/gateway\.port: expected number/);
    expect(errorOf(good.replace('      eu: http://127.0.0.1:4202/graphql\n', ''))).toContain('subgraphs.users.urls.eu: missing');
    expect(errorOf(good.replace('eu: http://127.0.0.1:4302/graphql', 'eu: not a url'))).toMatch(/subgraphs\.orders\.urls\.eu: .*http\(s\) URL/);
    expect(errorOf(good.replace('max_body_bytes', 'max_body_size'))).toMatch(/gateway\.max_body_size: unknown key/);
    // The gateway reads authorization itself to find a tenant's home region: a regional graph cannot pass it on.
    expect(errorOf(`${good}\nheaders:\n  forward: [authorization]\n`)).toMatch(/headers\.forward: authorization is the gateway's own token while a subgraph is regional/);
  });

  it('refuses a gateway region that is not declared, and unparsable YAML', () => {
    expect(errorOf(good, { GEOFED_REGION: 'mars' })).toContain('GEOFED_REGION: "mars" is not one of regions [us, eu, apac, latam]');
    expect(errorOf('regions: [us\nsubgraphs: {')).toContain('cannot be read as YAML');
    expect(errorOf(good, { GEOFED_SUBGRAPH_URL_CATALOG_US: 'ftp://x' })).toContain('GEOFED_SUBGRAPH_URL_CATALOG_US: expected an http(s) URL');
  });

  it('orders global failover by the round trips of routing.round_trip_ms, nearest first', () => {
    expect(loadConfig('supergraph.yaml', {}).routing.globalFailover).toEqual({
      us: ['eu', 'latam', 'apac'],
      eu: ['us', 'apac', 'latam'],
      apac: ['eu', 'us', 'latam'],
      latam: ['us', 'eu', 'apac'],
    });
  });

  it('needs a gateway in every region to forward to', () => {
    expect(errorOf(good.replace('  eu: { url: http://127.0.0.1:4001 }\n', ''))).toContain('gateways.eu: missing: routing.remote_execution "forward"');
    expect(() => loadConfig(writeConfig(good.replace('  eu: { url: http://127.0.0.1:4001 }\n', '').replace('remote_execution: forward', 'remote_execution: fetch')), {})).not.toThrow();
  });

  it('reads the probes and their SLOs, refusing what a probe round cannot use', () => {
    const { probes } = loadConfig('supergraph.yaml', {});
    expect(probes).toMatchObject({ slo: { p95Ms: 120, errorRate: 0.005 }, requests: 20, watch: false, watchIntervalMs: 30_000 });
    expect(probes.tenants.eu).toEqual({ tenant: 'acme', user: 'usr_acme_1' });
    expect(probes.operations).toEqual({ catalog: { query: '{ products(first: 1) { id } }', signedIn: false }, me: { query: '{ me { id } }', signedIn: true } });
    expect(errorOf(good.replace('slo: { p95_ms: 120, error_rate: 0.005 }', 'slo: { p95: 120 }'))).toMatch(/probes\.slo\.p95: unknown key/);
    expect(errorOf(good.replace('error_rate: 0.005', 'error_rate: 5'))).toMatch(/probes\.slo\.error_rate: /);
    expect(errorOf(good.replace('    latam: { tenant: umbrella', '    mars: { tenant: umbrella'))).toContain('probes.tenants.mars: "mars" is not one of regions [us, eu, apac, latam]');
    expect(errorOf(good.replace('  requests: 20 ', '  operations: {}\n  requests: 20 '))).toContain('probes.operations: empty');
  });
});
