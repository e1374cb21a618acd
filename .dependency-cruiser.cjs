// The import rules of geofed's layout (README, "Layout"). `npm run lint:imports` checks them; .ci/run fails on any.
// The gateway and the subgraphs are separate deployables over one wire contract (protocol/).
const repo = '^(protocol|runtime|gateway|plugins|schema|subgraphs|dev|cli|test|bench)/';

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
    onlyImports('protocol', [], 'The wire contract is owned by neither side: it imports nothing else of the repository.'),
    onlyImports('runtime', ['protocol'], 'Node-server basics (HTTP, Apollo adapter, shutdown, logs) that both deployables use.'),
    onlyImports('subgraphs', ['protocol', 'runtime'], 'A subgraph knows the gateway only through the wire contract.'),
    onlyImports('plugins', ['protocol', 'runtime'], 'Plugins receive typed options; the gateway wires them.'),
    onlyImports('gateway', ['plugins', 'protocol', 'runtime'], 'The gateway knows subgraphs only through the supergraph and the wire contract.'),
    onlyImports('schema', ['gateway', 'plugins', 'protocol', 'runtime'], 'Schema checks read the gateway\'s config and composition.'),
    onlyImports('dev', ['gateway', 'subgraphs', 'plugins', 'protocol', 'runtime'], 'The dev runner is the only code that starts both sides.'),
    onlyImports('cli', ['gateway', 'schema', 'dev', 'plugins', 'protocol', 'runtime'], 'The geofed command dispatches to each side\'s commands.'),
    {
      name: 'dev-through-one-subgraphs-entry',
      comment: 'The dev runner starts subgraphs through subgraphs/index.ts only.',
      severity: 'error',
      from: { path: '^dev/' },
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
