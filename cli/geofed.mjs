#!/usr/bin/env node
// The `geofed` command: runs cli/geofed.ts through tsx's loader, in this process.
import { register } from 'tsx/esm/api';

register();
await import('./geofed.ts');
