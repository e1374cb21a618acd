import { deadLetterStream, prefixPattern } from '../../protocol/event-routing.js';
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { StartupError } from '../process.js';
import { regionName } from '../settings.js';
import { listDeadLetters, replayDeadLetter, ReplayError, type ListedDeadLetter } from './dead-letters.js';
import { eventsSettings, openEventBus } from './settings.js';

const usage = `usage: geofed events dlq list [--region REGION] [--json] [--limit N]
       geofed events dlq replay <id> --region REGION
  list     the dead letters of a region (default: of every region with a dead-letter stream)
  replay   publishes dead letter <id> of REGION again, for the consumer that gave up on it
  Needs GEOFED_NATS_URL (and GEOFED_EVENTS_PREFIX when the deployment sets one): the
  in-process bus of \`npm start\` lives inside that process (docs/events.md).`;

/** `geofed events dlq list|replay`: an operator's view of the dead letters, and their replay. */
export const eventsCommand: Command = {
  usage,
  async run(args) {
    const { positionals, values } = parseCommandArgs(args, { region: { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' } }, true);
    const [group, action, ...rest] = positionals;
    if (group !== 'dlq') throw new UsageError(group === undefined ? 'a subcommand is required' : `no subcommand "${group}"`);
    if (values.region !== undefined && !regionName.safeParse(values.region).success) throw new UsageError(`--region: "${values.region}" is not a region name such as "eu"`);
    const limit = values.limit === undefined ? 1_000 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${values.limit}" is not a positive whole number`);
    if (action === 'list') {
      if (rest.length > 0) throw new UsageError(`list takes no argument (got ${rest.join(' ')})`);
      await list(values.region, limit, values.json ?? false);
    } else if (action === 'replay') {
      const [id, ...extra] = rest;
      if (id === undefined || !/^[1-9][0-9]*$/.test(id)) throw new UsageError(id === undefined ? 'replay needs the id of a dead letter (geofed events dlq list shows them)' : `"${id}" is not a dead letter id`);
      if (extra.length > 0) throw new UsageError(`one dead letter at a time (got also ${extra.join(' ')})`);
      if (values.region === undefined) throw new UsageError('replay needs --region: ids count within one region\'s dead letters');
      await replay(values.region, Number(id));
    } else {
      throw new UsageError(action === undefined ? 'dlq needs list or replay' : `no dlq action "${action}"`);
    }
  },
};

async function openBus() {
  const settings = eventsSettings();
  if (settings.natsUrl === undefined) throw new StartupError('GEOFED_NATS_URL is not set: dead letters live in JetStream (the in-process bus of `npm start` lives inside that process)');
  if (!prefixPattern.test(settings.prefix)) throw new StartupError(`GEOFED_EVENTS_PREFIX "${settings.prefix}" is not valid`);
  return { settings, bus: await openEventBus(settings, 'geofed-events-cli') };
}

async function list(region: string | undefined, limit: number, json: boolean) {
  const { settings, bus } = await openBus();
  try {
    const regions = region !== undefined ? [region] : (await bus.streams(`${settings.prefix.toUpperCase()}_DLQ_`)).map((s) => s.name.slice(`${settings.prefix}_DLQ_`.length).toLowerCase());
    const letters: ListedDeadLetter[] = [];
    for (const r of regions) {
      const exists = (await bus.streams(deadLetterStream(settings.prefix, r))).some((s) => s.name === deadLetterStream(settings.prefix, r));
      if (exists) letters.push(...(await listDeadLetters(bus, settings.prefix, r, limit)));
    }
    if (json) {
      console.log(JSON.stringify(letters, null, 2));
    } else if (letters.length === 0) {
      console.log(`no dead letters${region ? ` in ${region}` : ''}`);
    } else {
      // The event's type and entity, never its data: a regional event's data is a tenant's (--json shows all of it).
      for (const l of letters) console.log(`${l.region} ${l.id}\t${l.consumer}\t${l.event?.type ?? '(unreadable)'}\t${l.event?.entity ?? l.subject}\tat ${l.stream}#${l.streamSeq}\t${l.attempts} attempts\t${l.deadAt}\t${l.error}`);
    }
  } finally {
    await bus.close();
  }
}

async function replay(region: string, id: number) {
  const { settings, bus } = await openBus();
  try {
    const replayed = await replayDeadLetter(bus, settings.prefix, region, id);
    console.log(replayed.duplicate ? `dead letter ${id} of ${region} was replayed before (within the duplicate window): nothing published` : `replayed dead letter ${id} of ${region}: event ${replayed.event.id} (${replayed.event.type}) to ${replayed.stream}, for ${replayed.event.replayFor}`);
  } catch (error) {
    if (error instanceof ReplayError) throw new StartupError(error.message);
    throw error;
  } finally {
    await bus.close();
  }
}
