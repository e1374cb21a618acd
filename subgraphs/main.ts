import { parseCommandArgs, runCommand, UsageError, type Command } from '../runtime/command.js';
import type { EventBus } from '../runtime/events/bus.js';
import { openEventBus } from '../runtime/events/settings.js';
import { setLogLevels } from '../runtime/logger.js';
import { runUntilSignalled } from '../runtime/process.js';
import { subgraphKinds } from './registry.js';
import { SettingsError } from '../runtime/settings.js';
import { subgraphNames, subgraphSettings, type SubgraphName } from './settings.js';
import { startDatabaseRelay, startWebhookWorkers } from './events.js';
import { DatabaseUnavailableError, openDatabase } from './shared/db.js';
import { startSubgraph } from './shared/subgraph-server.js';

const usage = `usage: npm run subgraph -- <${subgraphNames.join('|')}> --region <region>
  Settings come from the environment (README, "Configuration"): PORT, GEOFED_DATABASE_URL_<REGION>
  (users, orders) or GEOFED_CATALOG_DATABASE_URL (catalog), GEOFED_SUBGRAPH_SECRET, …`;

/**
 * `npm run subgraph -- users --region eu`: one subgraph instance for one
 * region, as a team deploys it, configured by its own environment. On PGlite
 * it gets a data folder of its own: a PGlite folder belongs to one process.
 */
const subgraphCommand: Command = {
  usage,
  async run(args) {
    const { positionals, values } = parseCommandArgs(args, { region: { type: 'string' } }, true);
    const [name, ...extra] = positionals;
    if (name === undefined || !(subgraphNames as readonly string[]).includes(name)) throw new UsageError(name === undefined ? 'a subgraph name is required' : `no subgraph "${name}"`);
    if (extra.length > 0) throw new UsageError(`one subgraph only (got also ${extra.join(' ')})`);
    if (values.region === undefined) throw new UsageError('--region is required');
    const settings = subgraphSettings(name as SubgraphName, values.region);
    const { database } = settings;
    if (database === undefined) {
      throw new SettingsError(
        `${settings.subgraph} (${settings.region}) started on its own needs PostgreSQL: set ${settings.databaseVariable}. The instances of a deployment share their databases (every region's catalog one primary), and a PGlite folder belongs to one process: for an embedded database, run everything in one process with \`npm start\`.`,
      );
    }
    setLogLevels({ log: settings.logLevel, audit: settings.auditLogLevel });
    const { events, webhooks: webhooksOfRegion } = settings;
    const kind = subgraphKinds[settings.subgraph];
    await runUntilSignalled(async () => {
      const handle = await openDatabase(database, { pool: settings.pool });
      const replica = settings.replica
        ? await openDatabase(settings.replica, { pool: settings.pool }).catch(async (error: unknown) => {
            await handle.close();
            throw error;
          })
        : undefined;
      let bus: EventBus | undefined;
      try {
        await kind.prepare(handle, settings.region).catch((error: unknown) => {
          throw new DatabaseUnavailableError(`migrating and seeding the ${settings.subgraph} database failed: ${serverMessage(error)}`);
        });
        // Without GEOFED_NATS_URL nothing in this process would hear the events: they wait in the outbox for a relay that has a bus.
        bus = events.natsUrl === undefined ? undefined : await openEventBus(events, `${settings.subgraph}-${settings.region}`);
        const definition = kind.build({
          region: settings.region,
          schemaPath: settings.schemaPath,
          database: handle,
          ...(replica ? { replica } : {}),
          replicaSettings: settings.replicas,
          catalogUrl: settings.catalogUrl,
          signingSecret: settings.secrets.current,
          ...(webhooksOfRegion ? { webhooks: webhooksOfRegion } : {}),
        });
        const running = await startSubgraph(definition, {
          host: settings.host,
          port: settings.port,
          security: { secrets: settings.secrets.accepted, windowSeconds: settings.signatureWindowSeconds },
          production: settings.production,
        });
        const relay = bus ? startDatabaseRelay({ database: handle, scope: kind.database, region: settings.region, bus, settings: events }) : undefined;
        // The users subgraph owns webhooks: its process delivers its region's.
        const webhooks = bus && webhooksOfRegion ? await startWebhookWorkers({ database: handle, region: settings.region, bus, settings: events, webhooks: webhooksOfRegion }) : undefined;
        console.log(`geofed ${settings.subgraph} (${settings.region}, ${handle.driver}) serving ${running.url}${bus ? `, relaying its outbox to ${events.natsUrl}` : ''}`);
        return {
          drainTimeoutMs: settings.drainTimeoutMs,
          async stop() {
            // Requests drain first: what they commit waits in the outbox for the next relay.
            await running.stop(settings.drainTimeoutMs);
            await webhooks?.stop();
            await relay?.stop();
            await bus?.close();
            await replica?.close();
            await handle.close();
          },
        };
      } catch (error) {
        await bus?.close();
        await replica?.close();
        await handle.close();
        throw error;
      }
    });
  },
};

/** PostgreSQL's own words (a permission, a missing object), never the statement or its parameters. */
function serverMessage(error: unknown): string {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `${current.message} (SQLSTATE ${code})`;
  }
  return error instanceof Error ? error.constructor.name : 'unknown error';
}

await runCommand('subgraph', subgraphCommand, process.argv.slice(2));
