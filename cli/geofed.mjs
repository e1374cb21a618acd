#!/usr/bin/env -S node --max-semi-space-size=32
// The `geofed` command: runs cli/geofed.ts through tsx's loader, in this process. A gateway allocates
// short-lived objects per response (Apollo's result shaping): a 32 MiB young generation per semi-space halves
// the scavenges of the default 16 MiB (docs/operations.md, "Node flags").
import { register } from 'tsx/esm/api';

register();
await import('./geofed.ts');
