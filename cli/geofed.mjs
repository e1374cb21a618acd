#!/usr/bin/env -S node --max-semi-space-size=32
// The `geofed` command in a checkout, from the TypeScript as it is: runs cli/geofed.ts through tsx's loader, in
// this process. An install runs the compiled dist/cli/geofed.js instead (docs/install.md); both start Node with
// the same flag (docs/operations.md, "Node flags").
import { register } from 'tsx/esm/api';

register();
await import('./geofed.ts');
