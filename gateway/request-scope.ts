import { AsyncLocalStorage } from 'node:async_hooks';
import type { Caller } from './request-context.js';

/**
 * The caller of the request being served, for the code Apollo calls without
 * the request's context (its persisted-query store: a registered document
 * that carries a tenant's data goes to the tenant's home region's store).
 */
export const requestCaller = new AsyncLocalStorage<Caller | null>();
