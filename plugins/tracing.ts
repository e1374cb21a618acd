import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { trace } from '@opentelemetry/api';
import { tracingEnabled, traceAttributes } from '../runtime/tracing.js';

/**
 * Names the span an operation runs in (`geofed.operation`, opened around
 * Apollo Server by runtime/apollo-http.ts): the operation's name and type once
 * resolved, and the code of the first error of its answer. Never its
 * variables or its document. Apollo Gateway's own spans (`gateway.request`,
 * `gateway.plan`, `gateway.execute`, `gateway.fetch`) and the debit's hang
 * under it. While tracing is off it adds no hook to a request.
 */
export function tracingPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const span = tracingEnabled() ? trace.getActiveSpan() : undefined;
      if (!span?.isRecording()) return;
      return {
        async didResolveOperation({ operationName, operation }) {
          span.setAttributes({ ...(operation ? { 'graphql.operation.type': operation.operation } : {}), ...(operationName ? { 'graphql.operation.name': operationName } : {}) });
        },
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          const code = errors?.[0]?.extensions?.code;
          span.setAttribute(traceAttributes.outcome, errors?.length ? 'errors' : 'ok');
          // The status is the HTTP server span's, written once the last plugin set it (runtime/tracing.ts).
          if (typeof code === 'string') span.setAttribute(traceAttributes.errorCode, code);
        },
      };
    },
  };
}
