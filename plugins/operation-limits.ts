import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { GraphQLError, ParseOptions, ValidationContext, ValidationRule } from 'graphql';
import type { z } from 'zod';
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
 * Each error names the limit it broke.
 */
export function operationLimits({ maxDepth, maxAliases, maxTokens, maxDirectives }: OperationLimits): OperationLimitOptions {
  // Reported as validation errors: armor's default (throwing from the rule) reaches Apollo as a 500.
  const reject = { exposeLimits: true, propagateOnRejection: false, onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)] };
  return {
    parseOptions: { maxTokens },
    validationRules: [
      maxDepthRule({ n: maxDepth, flattenFragments: true, ...reject }) as unknown as ValidationRule,
      maxAliasesRule({ n: maxAliases, ...reject }) as unknown as ValidationRule,
      maxDirectivesRule({ n: maxDirectives, ...reject }) as unknown as ValidationRule,
    ],
  };
}
