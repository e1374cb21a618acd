// The import rules of geofed's layout (README, "Layout"). `npm run lint:imports` checks them; .ci/run fails on any.
// The gateway and the subgraphs are separate deployables over one wire contract (protocol/).
/**
 * The layer map: each top-level folder, the repository folders it may import
 * (besides itself and packages), and why. A folder may import only folders
 * listed before it, which this file checks as it loads, so no two top-level
 * folders can ever import each other: allowing one would need a folder to
 * import one listed after it.
 */
const layers = [
  ['protocol', [], 'The wire contract is owned by neither side: it imports nothing else of the repository.'],
  ['runtime', ['protocol'], 'Node-server basics (HTTP, Apollo adapter, shutdown, logs) that both deployables use.'],
  ['plugins', ['protocol', 'runtime'], 'Plugins receive typed options; the gateway wires them.'],
  ['subgraphs', ['protocol', 'runtime'], 'A subgraph knows the gateway only through the wire contract.'],
  ['gateway', ['plugins', 'protocol', 'runtime'], 'The gateway knows subgraphs only through the supergraph and the wire contract.'],
  ['schema', ['gateway', 'plugins', 'protocol', 'runtime'], 'Schema checks read the gateway\'s config and composition.'],
  ['dev', ['gateway', 'subgraphs', 'plugins', 'protocol', 'runtime'], 'The dev runner is the only code that starts both sides.'],
  ['cli', ['gateway', 'schema', 'dev', 'plugins', 'protocol', 'runtime'], 'The geofed command dispatches to each side\'s commands.'],
  ['test', ['cli', 'dev', 'schema', 'gateway', 'subgraphs', 'plugins', 'runtime', 'protocol'], 'Tests and their fixtures (the fuzz\'s included) import no benchmark.'],
  ['bench', ['test', 'cli', 'dev', 'schema', 'gateway', 'subgraphs', 'plugins', 'runtime', 'protocol'], 'Benchmarks run on the test fixtures; nothing imports them.'],
];

const folders = layers.map(([folder]) => folder);
for (const [folder, allowed] of layers) {
  for (const other of allowed) {
    if (!folders.includes(other) || folders.indexOf(other) >= folders.indexOf(folder)) {
      throw new Error(`.dependency-cruiser.cjs: ${folder} may import only folders listed before it in the layer map, not ${other}`);
    }
  }
}

const repo = `^(${folders.join('|')})/`;

/** A rule that lets `folder` import only the repository folders in `allowed` (and itself, and packages). */
function onlyImports(folder, allowed, comment) {
  return {
    name: `${folder}-imports-only-${allowed.join('-') || 'itself'}`,
    comment,
    severity: 'error',
    from: { path: `^${folder}/` },
    to: { path: repo, pathNot: `^(${[folder, ...allowed].join('|')})/` },
  };
}

module.exports = {
  forbidden: [
    ...layers.map(([folder, allowed, comment]) => onlyImports(folder, allowed, comment)),
    {
      name: 'dev-through-one-subgraphs-entry',
      comment: 'The dev runner starts subgraphs through subgraphs/index.ts only.',
      severity: 'error',
      from: { path: '^dev/' },
      to: { path: '^subgraphs/', pathNot: '^subgraphs/index\\.ts$' },
    },
    {
      name: 'bench-through-one-subgraphs-entry',
      comment: 'Benchmarks reach subgraph code through subgraphs/index.ts only, as the dev runner does.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^subgraphs/', pathNot: '^subgraphs/index\\.ts$' },
    },
    {
      name: 'nothing-imports-tests-or-benchmarks',
      severity: 'error',
      from: { pathNot: '^(test|bench)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle of modules, inside a folder or across folders.',
      severity: 'error',
      from: { path: repo },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.cjs'] },
  },
};
