import { z } from 'zod';
import { nonNegativeInteger, positiveInteger, settingsSection } from '../../runtime/settings.js';

/**
 * What a limit does with an operation over it: `enforce` refuses it; `measure`
 * computes the same figures, reports them in the response's `extensions` and
 * in metrics, and serves the operation (to size limits before enforcing them).
 */
export const limitMode = z.enum(['enforce', 'measure']);
export type LimitMode = z.output<typeof limitMode>;

/** `cost` of supergraph.yaml: the static cost model (README, "Cost and rate limits"). */
export const costSettings = settingsSection({
  /** `enforce`: over max_operation_cost is refused; `measure`: served, with the figures in extensions.cost. */
  mode: limitMode.default('enforce'),
  /** Operations estimated above this are refused before any subgraph is called. */
  max_operation_cost: positiveInteger.default(10_000),
  /** List size when neither a slicing argument nor @listSize(assumedSize) gives one. */
  default_list_size: nonNegativeInteger.default(10),
  /** Added once to every mutation. */
  mutation_cost: nonNegativeInteger.default(10),
}).prefault({});

export type CostSettings = z.output<typeof costSettings>;
