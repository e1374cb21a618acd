import type { IncomingMessage } from 'node:http';
import type { ApolloServer, BaseContext } from '@apollo/server';
import { apolloRoute } from '../../runtime/apollo-http.js';
import { startHttpServer } from '../../runtime/http-server.js';

/**
 * Serves a started ApolloServer the way a peer process of the harness does: on geofed's own HTTP
 * server and keep-alive, `ready URL` on standard output, and a clean stop on SIGTERM or SIGINT.
 */
export async function serveApolloPeer<TContext extends BaseContext>(server: ApolloServer<TContext>, context: (req: IncomingMessage) => Promise<TContext>): Promise<void> {
  const http = await startHttpServer({ routes: { '/graphql': apolloRoute(server, { maxBodyBytes: 1_048_576, context }) } });
  console.log(`ready ${http.url}/graphql`);
  const stop = async () => {
    await http.stop(1_000);
    await server.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}
