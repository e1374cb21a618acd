import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

// `npm run build`, after tsc: the files the compiled modules read beside themselves at run time, copied to the same
// place under dist/ so that every `new URL('./…', import.meta.url)` resolves there as it does in the sources:
// the subgraphs' SDL (subgraphs/settings.ts reads ../schema/), their Drizzle migrations with the journal the
// migrator reads (subgraphs/*/db/migrations), the rate limiter's Lua script (plugins/rate-limit/token-bucket.lua).
const runtimeAssetExtensions = new Set(['.graphql', '.sql', '.json', '.lua']);
const { include: compiledFolders } = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] };

for (const folder of compiledFolders) {
  for (const file of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    if (runtimeAssetExtensions.has(extname(file))) cpSync(join(folder, file), join('dist', folder, file));
  }
}
