import type { z } from 'zod';
import { nonNegativeInteger, positiveInteger, settingsSection } from '../../runtime/settings.js';

/** `cost` of supergraph.yaml: the static cost model (README, "Cost and rate limits"). */
export const costSettings = settingsSection({
  /** Operations estimated above this are refused before any subgraph is called. */
  max_operation_cost: positiveInteger.default(10_000),
  /** List size when neither a slicing argument nor @listSize(assumedSize) gives one. */
  default_list_size: nonNegativeInteger.default(10),
  /** Added once to every mutation. */
  mutation_cost: nonNegativeInteger.default(10),
}).prefault({});

export type CostSettings = z.output<typeof costSettings>;
