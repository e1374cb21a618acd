import { pino } from 'pino';

/** One structured logger for every process. Logs carry no PII and no variables. */
export const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'geofed' } });
