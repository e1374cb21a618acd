import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import type { z } from 'zod';
import { ErrorCode } from '../protocol/errors.js';
import { nonNegativeInteger, positiveInteger, settingsSection } from '../runtime/settings.js';

/** `limits` of supergraph.yaml (graphql-armor's defaults), checked before any planning. */
export const operationLimitSettings = settingsSection({
  max_depth: positiveInteger.default(6),
  max_aliases: nonNegativeInteger.default(15),
  max_tokens: positiveInteger.default(1_000),
  max_directives: nonNegativeInteger.default(50),
}).prefault({});

export type OperationLimits = z.output<typeof operationLimitSettings>;

export interface OperationLimitOptions {
  /** Apollo's parser aborts past this many tokens: GRAPHQL_PARSE_FAILED. */
  readonly parseOptions: ParseOptions;
  /** Depth, aliases and directives: GRAPHQL_VALIDATION_FAILED, before any planning. */
  readonly validationRules: ValidationRule[];
}

/**
 * The operation limits of supergraph.yaml (graphql-armor's defaults: depth 6,
 * aliases 15, tokens 1000, directives 50), as Apollo Server options: they run
 * at parse and validation, so an abusive document never reaches the planner.
 * A depth, aliases or directives error names the limit it broke and the
 * setting that raises it; past max_tokens the parser stops, and
 * `tokenLimitPlugin` words its error the same way.
 */
export function operationLimits({ maxDepth, maxAliases, maxTokens, maxDirectives }: OperationLimits): OperationLimitOptions {
  return {
    parseOptions: { maxTokens },
    validationRules: [
      maxDepthRule({ n: maxDepth, flattenFragments: true, ...rejectAsInvalid('limits.max_depth') }) as unknown as ValidationRule,
      maxAliasesRule({ n: maxAliases, ...rejectAsInvalid('limits.max_aliases') }) as unknown as ValidationRule,
      maxDirectivesRule({ n: maxDirectives, ...rejectAsInvalid('limits.max_directives') }) as unknown as ValidationRule,
    ],
  };
}

/**
 * Reported as validation errors (GRAPHQL_VALIDATION_FAILED, 400): armor's
 * default, throwing from the rule, reaches Apollo as a 500. Armor words each
 * as a "Syntax Error", though the document parsed: the prefix goes, and the
 * message says what the client can do and which setting raises the limit.
 */
function rejectAsInvalid(setting: string) {
  const rewrite = (error: GraphQLError) => new GraphQLError(`${error.message.replace(/^Syntax Error: /, '').replace(/\.$/, '')}: simplify the operation, or raise ${setting} in the gateway's supergraph.yaml.`, { nodes: error.nodes });
  return { exposeLimits: true, propagateOnRejection: false, onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(rewrite(error))] };
}

/**
 * Past `limits.max_tokens` graphql-js stops parsing and Apollo answers its
 * error, GRAPHQL_PARSE_FAILED (400), worded "Syntax Error: Document contains
 * more that N tokens. Parsing aborted.": no rule sees it, and the document may
 * well be valid. This plugin keeps the code and the status and rewrites the
 * message like the other limits': what was exceeded and which setting raises it.
 */
export function tokenLimitPlugin({ maxTokens }: Pick<OperationLimits, 'maxTokens'>): ApolloServerPlugin<BaseContext> {
  const parserMessage = `Syntax Error: Document contains more that ${maxTokens} tokens. Parsing aborted.`;
  const message = `Token limit of ${maxTokens} exceeded, parsing stopped: simplify the operation, or raise limits.max_tokens in the gateway's supergraph.yaml.`;
  const reworded = (error: GraphQLFormattedError): GraphQLFormattedError =>
    error.extensions?.code === ErrorCode.GRAPHQL_PARSE_FAILED && error.message === parserMessage ? { ...error, message } : error;
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (result.errors?.[0]?.extensions?.code === ErrorCode.GRAPHQL_PARSE_FAILED) result.errors = result.errors.map(reworded);
        },
      };
    },
  };
}
