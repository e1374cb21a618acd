import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';

/** Distinct request bodies whose answers are kept: the workload sends a handful. */
const answersKept = 1_000;

/**
 * A small GraphQL-over-HTTP server for one subgraph of the benchmark: POST
 * JSON, each document parsed and validated once, then executed. It does as
 * little as a subgraph can, so that the gateways are what the load measures:
 * its data never changes, so a body it has answered is answered again with the
 * same bytes. Executed each time, the four subgraphs (one process) took about
 * half as much CPU as the gateway under test, on the same two cores.
 */
export async function serveGraphQL(schema: GraphQLSchema, port = 0): Promise<{ url: string; server: Server }> {
  const documents = new Map<string, DocumentNode | readonly Error[]>();
  const documentOf = (query: string) => {
    let document = documents.get(query);
    if (!document) {
      try {
        const parsed = parse(query);
        const errors = validate(schema, parsed);
        document = errors.length > 0 ? errors : parsed;
      } catch (error) {
        document = [error as Error];
      }
      documents.set(query, document);
    }
    return document;
  };
  const answers = new LRUCache<string, Buffer>({ max: answersKept });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const kept = answers.get(raw);
        if (kept) return reply(res, kept);
        let body: { query?: string; variables?: Record<string, unknown>; operationName?: string };
        try {
          body = JSON.parse(raw) as typeof body;
        } catch {
          body = {};
        }
        const document = typeof body.query === 'string' ? documentOf(body.query) : [new Error('a POST body with a query is expected')];
        const result = Array.isArray(document)
          ? { errors: document.map((error) => ({ message: error.message })) }
          : await execute({ schema, document: document as DocumentNode, variableValues: body.variables ?? {}, operationName: body.operationName ?? null, contextValue: {} });
        const answer = Buffer.from(JSON.stringify(result));
        answers.set(raw, answer);
        reply(res, answer);
      })();
    });
  });
  const reply = (res: ServerResponse, answer: Buffer) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
    res.end(answer);
  };
  // The gateways keep their connections alive; so does every server of the benchmark.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, server };
}
