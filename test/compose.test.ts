import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import { composeSupergraph } from '../gateway/compose.js';

const config = loadConfig('supergraph.yaml', {});

describe('composition', () => {
  it('composes the subgraphs into exactly the committed supergraph, with pii tags and inaccessible internals', async () => {
    const result = await composeSupergraph(config);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.supergraphSdl).toBe(readFileSync(config.supergraphPath!, 'utf8'));
    expect(result.supergraphSdl).toMatch(/email: String! @join__field\(graph: USERS\) @tag\(name: "pii"\)/);
    expect(result.supergraphSdl).toMatch(/tenantDirectoryEntry\(id: ID!\): Tenant @inaccessible/);
  });

  it('reports composition errors by subgraph', async () => {
    const broken = (path: string) => {
      const sdl = readFileSync(path, 'utf8');
      return path.endsWith('orders.graphql') ? sdl.replace('type Product @key(fields: "id", resolvable: false) {\n  id: ID!', 'type Product @key(fields: "id", resolvable: false) {\n  id: Int!') : sdl;
    };
    const result = await composeSupergraph(config, { readFile: broken });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join('\n')).toMatch(/Product\.id" is incompatible/);
  });

  it('reports an SDL file that does not parse', async () => {
    const result = await composeSupergraph(config, { readFile: (path) => (path.endsWith('users.graphql') ? 'type User {' : readFileSync(path, 'utf8')) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toMatch(/^users \(.*users\.graphql\): Syntax Error/);
  });
});
