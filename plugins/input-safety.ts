import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ErrorCode, geofedError } from '../protocol/errors.js';
import { nulCharacterError } from '../protocol/input-rules.js';

/** The longest piece of a client's operation name an error message repeats. */
const echoedNameLength = 64;

/**
 * Refuses, with the code Apollo Server defines and a 4xx, the requests that
 * graphql-js or a database would otherwise turn into a 500: an operation name
 * that names no operation (or is empty), several operations and no name, a
 * subscription (the schema has none), and a NUL character in a string
 * argument or variable. Runs first, before any planning.
 */
export function inputSafetyPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request, document }) {
          if (!operation) {
            const name = request.operationName;
            const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition').length;
            throw geofedError(
              ErrorCode.OPERATION_RESOLUTION_FAILURE,
              name === undefined || name === null
                ? `The document has ${operations} operations: name the one to run in "operationName".`
                : `The document has no operation named "${name.slice(0, echoedNameLength)}${name.length > echoedNameLength ? '…' : ''}".`,
            );
          }
          if (operation.operation === 'subscription') throw geofedError(ErrorCode.GRAPHQL_VALIDATION_FAILED, 'This gateway serves queries and mutations; it has no subscriptions.');
          const refused = nulCharacterError(document, request.variables);
          if (refused) throw refused;
        },
      };
    },
  };
}
