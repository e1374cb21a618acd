import { readFileSync } from 'node:fs';
import { Supergraph } from '@apollo/federation-internals';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import type { Random } from './random.js';

// The grammar half of the fuzz: GraphQL operations generated from the API schema the gateway serves
// (derived from schema/supergraph.graphql, since production turns introspection off), with valid
// argument values mostly and edge values, broken variables, fragments, directives, aliases and depth
// near the limits otherwise.

/** The API schema clients see, as the gateway derives it from the supergraph. */
export function apiSchemaOf(supergraphFile = 'schema/supergraph.graphql'): GraphQLSchema {
  return Supergraph.build(readFileSync(supergraphFile, 'utf8')).apiSchema().toGraphQLJSSchema();
}

/** What the generators know of the seed data (README, "Seeded tenants"). */
export const seedFacts = {
  tenants: ['acme', 'globex', 'initech', 'umbrella'],
  usersPerTenant: 3,
  products: Array.from({ length: 24 }, (_, i) => `prd_${String(i + 1).padStart(2, '0')}`),
} as const;

export const userIdsOf = (tenant: string) => Array.from({ length: seedFacts.usersPerTenant }, (_, i) => `usr_${tenant}_${i + 1}`);

export interface GeneratedOperation {
  /** The whole document: operations and fragments. */
  readonly document: string;
  /** The name of the operation to run, when it has one. */
  readonly operationName: string | undefined;
  /** The variables a well-behaved client would send (the envelope may still drop or spoil them). */
  readonly variables: Record<string, unknown>;
  readonly kind: 'query' | 'mutation' | 'subscription';
  /** Root fields selected (for the report and the oracles). */
  readonly rootFields: readonly string[];
  /** Names of the deliberate defects, empty for an operation meant to be valid. */
  readonly defects: readonly string[];
}

/** A value an argument can take: as GraphQL literal text, and as a variable's JSON (absent when JSON cannot carry it). */
interface Value {
  readonly literal: string;
  readonly json?: unknown;
  readonly hasJson: boolean;
}

const json = (value: unknown, literal = toLiteral(value)): Value => ({ literal, json: value, hasJson: true });
const literalOnly = (literal: string): Value => ({ literal, hasJson: false });

/** GraphQL string escaping (JSON's is valid GraphQL, but it would escape lone surrogates; keep them raw). */
export function graphqlString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

function toLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return graphqlString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(toLiteral).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${toLiteral(v)}`).join(', ')}}`;
}

/** Strings an attacker tries on every text argument. */
export function edgeString(rng: Random): string {
  return rng.weighted<() => string>([
    [3, () => ''],
    [2, () => ' '],
    [3, () => 'a\u0000b'],
    [2, () => '\u0000'],
    [3, () => 'line\r\nbreak'],
    [1, () => '\r\n\r\nHTTP/1.1 200 OK\r\n'],
    [3, () => '😀🚀 emoji ✓'],
    [3, () => 'lone \ud800 surrogate'],
    [2, () => '\udfff\ud800'],
    [2, () => 'Ünïcödé ÆØÅ 日本語 עברית'],
    [2, () => "' OR 1=1 --"],
    [1, () => "'); drop table users; --"],
    [1, () => '%s%n%x%d'],
    [1, () => '../../../../etc/passwd'],
    [1, () => '<script>alert(1)</script>'],
    [1, () => '${jndi:ldap://x}'],
    [1, () => '\u202e\u200b\ufeff'],
    [2, () => 'x'.repeat(rng.pick([199, 200, 201, 255, 256, 1_000, 4_096]))],
    [1, () => 'y'.repeat(rng.pick([65_536, 200_000]))],
    [1, () => '\\'.repeat(rng.int(1, 64))],
    [1, () => '"'.repeat(rng.int(1, 16))],
    [2, () => rng.pick(userIdsOf(rng.pick(seedFacts.tenants)))],
    [1, () => rng.pick(['prd_01', 'prd_00', 'prd_999', 'PRD_01', 'prd_01 ', ' prd_01', 'prd_%', 'prd_*'])],
    [1, () => randomUnicode(rng, rng.int(1, 40))],
  ])();
}

export function randomUnicode(rng: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) {
    out += rng.weighted<() => string>([
      [4, () => String.fromCharCode(rng.int(0x20, 0x7e))],
      [2, () => String.fromCharCode(rng.int(0, 0x1f))],
      [2, () => String.fromCharCode(rng.int(0x80, 0x7ff))],
      [1, () => String.fromCharCode(rng.int(0xd800, 0xdfff))],
      [1, () => String.fromCodePoint(rng.int(0x1f300, 0x1faff))],
      [1, () => String.fromCharCode(rng.int(0xe000, 0xffff))],
    ])();
  }
  return out;
}

/** Numbers an attacker tries on every Int argument (some are not Ints at all). */
function edgeInt(rng: Random): Value {
  return rng.weighted<() => Value>([
    [3, () => json(0)],
    [3, () => json(-1)],
    [1, () => json(-2_147_483_648)],
    [3, () => json(2_147_483_647)],
    [2, () => json(2_147_483_648)],
    [2, () => json(2 ** 53)],
    [1, () => json(2 ** 53 + 2)],
    [1, () => json(-(2 ** 53))],
    [1, () => json(1e308)],
    [1, () => json(-1e308)],
    [1, () => ({ literal: '1e400', json: 1e308, hasJson: true })],
    [2, () => json(1.5)],
    [1, () => json(0.0000001)],
    [1, () => json(-0)],
    [1, () => literalOnly('99999999999999999999999999999')],
    [1, () => literalOnly('-0')],
    [1, () => literalOnly('0x10')],
    [1, () => literalOnly('1_000')],
    [1, () => literalOnly('01')],
    [2, () => json(101)],
    [2, () => json(100)],
    [1, () => json(1_001)],
    [1, () => json(1_000)],
  ])();
}

/** A value of the wrong type, or null where the type may not allow it. */
function wrongValue(rng: Random): Value {
  return rng.weighted<() => Value>([
    [4, () => json(null)],
    [2, () => json('3')],
    [2, () => json(true)],
    [2, () => json([])],
    [2, () => json({})],
    [1, () => json([1, 2, 3])],
    [1, () => json({ productId: 'prd_01', quantity: 1 })],
    [1, () => json([[[[[[[[[[]]]]]]]]]])],
    [1, () => literalOnly('EU')],
    [1, () => literalOnly('$')],
    [1, () => json(Array.from({ length: 1_000 }, (_, i) => i))],
  ])();
}

interface VariableDefinition {
  readonly name: string;
  readonly type: string;
  readonly defaultValue?: string;
}

interface OperationStyle {
  /** Probability that an argument takes an edge value rather than a valid one. */
  readonly edgeRate: number;
  /** Probability that an argument value goes through a variable. */
  readonly variableRate: number;
  readonly maxDepth: number;
  readonly aliasRate: number;
  readonly fragmentRate: number;
  readonly directiveRate: number;
  /** A run of aliased copies of one cheap field, near max_aliases. */
  readonly manyAliases: number;
}

class Builder {
  readonly variables: VariableDefinition[] = [];
  readonly values: Record<string, unknown> = {};
  readonly fragments: string[] = [];
  readonly defects: string[] = [];
  private counter = 0;
  private aliasesLeft: number;

  constructor(
    readonly rng: Random,
    readonly schema: GraphQLSchema,
    readonly style: OperationStyle,
    readonly tenant: string,
  ) {
    this.aliasesLeft = style.manyAliases;
  }

  fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.counter}`;
  }

  /** A valid value for an argument, by where it is: the seed's ids, page sizes in range, plausible names. */
  validValue(coordinate: string, type: GraphQLInputType): Value {
    const { rng } = this;
    switch (coordinate) {
      case 'Query.products.first':
      case 'User.orders.first':
        return json(rng.weighted([[6, rng.int(1, 5)], [2, rng.int(0, 20)], [1, rng.int(20, 100)]]));
      case 'Query.product.id':
      case 'OrderItemInput.productId':
        return json(rng.chance(0.9) ? rng.pick(seedFacts.products) : rng.pick(['prd_25', 'prd_404', 'nope']));
      case 'Query.user.id':
        return json(rng.chance(0.7) ? rng.pick(userIdsOf(this.tenant)) : rng.pick(userIdsOf(rng.pick(seedFacts.tenants))));
      case 'Mutation.updateProfile.name':
      case 'Mutation.upsertProduct.name':
        return json(rng.pick(['Ada Lovelace', 'Grace Hopper', 'Fuzz Tester', 'Zoë Ångström', 'Jean-Luc Picard', 'O\'Brien', 'Rocket Skates']));
      case 'OrderItemInput.quantity':
        return json(rng.int(1, 5));
      case 'Mutation.upsertProduct.priceCents':
        return json(rng.int(1, 99_999));
      case 'Mutation.upsertProduct.id':
        return json(rng.chance(0.5) ? rng.pick(seedFacts.products) : `prd_fz_${rng.int(1, 50)}`);
      case 'Mutation.placeOrder.items':
        return this.listOf(rng.int(1, 3), () => this.inputObject(getNamedType(type) as never, 'valid'));
      default:
        return this.byType(type, 'valid');
    }
  }

  private listOf(count: number, item: () => Value): Value {
    const items = Array.from({ length: count }, item);
    const hasJson = items.every((v) => v.hasJson);
    return { literal: `[${items.map((v) => v.literal).join(', ')}]`, ...(hasJson ? { json: items.map((v) => v.json) } : {}), hasJson };
  }

  private inputObject(type: ReturnType<typeof getNamedType>, mode: 'valid' | 'edge'): Value {
    if (!isInputObjectType(type)) return this.byType(type as GraphQLInputType, mode);
    const entries: [string, Value][] = [];
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      if (mode === 'edge' && this.rng.chance(0.15)) continue; // a required field missing
      entries.push([field.name, mode === 'edge' && this.rng.chance(0.6) ? this.edgeValue(coordinate, field.type) : this.validValue(coordinate, field.type)]);
    }
    if (mode === 'edge' && this.rng.chance(0.1)) entries.push([this.rng.pick(['extra', 'tenantId', '__proto__', 'constructor', 'userId']), json('usr_globex_1')]);
    const hasJson = entries.every(([, v]) => v.hasJson);
    return {
      literal: `{${entries.map(([k, v]) => `${k}: ${v.literal}`).join(', ')}}`,
      ...(hasJson ? { json: Object.fromEntries(entries.map(([k, v]) => [k, v.json])) } : {}),
      hasJson,
    };
  }

  private byType(type: GraphQLInputType, mode: 'valid' | 'edge'): Value {
    const { rng } = this;
    if (isNonNullType(type)) return this.byType(type.ofType, mode);
    if (isListType(type)) return this.listOf(rng.int(0, 3), () => this.byType(type.ofType as GraphQLInputType, mode));
    if (isInputObjectType(type)) return this.inputObject(type, mode);
    if (isEnumType(type)) return literalOnly(rng.pick(type.getValues()).name);
    if (isScalarType(type)) {
      if (mode === 'edge') {
        if (type.name === 'Int' || type.name === 'Float') return edgeInt(rng);
        if (type.name === 'Boolean') return rng.chance(0.5) ? json(rng.chance(0.5)) : wrongValue(rng);
        return json(edgeString(rng));
      }
      if (type.name === 'Int') return json(rng.int(0, 10));
      if (type.name === 'Boolean') return json(rng.chance(0.5));
      return json(rng.pick(['a', 'prd_01', 'usr_acme_1']));
    }
    return json(null);
  }

  edgeValue(coordinate: string, type: GraphQLInputType): Value {
    const { rng } = this;
    if (rng.chance(0.2)) return wrongValue(rng);
    if (coordinate === 'Mutation.placeOrder.items') {
      return rng.weighted<() => Value>([
        [2, () => json([])],
        [2, () => this.listOf(rng.int(1, 3), () => this.inputObject(getNamedType(type), 'edge'))],
        [2, () => this.listOf(rng.pick([2, 50, 51, 200]), () => this.inputObject(getNamedType(type), 'valid'))],
        [1, () => this.listOf(2, () => json({ productId: 'prd_01', quantity: rng.pick([2_147_483_647, 1_000, 1_001, 0, -5, 999]) }))],
        [1, () => json({ productId: 'prd_01', quantity: 1 })],
      ])();
    }
    if (coordinate.endsWith('.id') || coordinate.endsWith('Id')) {
      return rng.chance(0.3) ? edgeInt(rng) : json(rng.chance(0.5) ? rng.pick(userIdsOf(rng.pick(seedFacts.tenants))) : edgeString(rng));
    }
    return this.byType(type, 'edge');
  }

  /** An argument value in the document: a literal, or a variable (declared, and usually given). */
  argument(coordinate: string, arg: GraphQLArgument): string | undefined {
    const { rng, style } = this;
    const required = isNonNullType(arg.type);
    if (!required && rng.chance(0.35)) return undefined;
    if (required && style.edgeRate > 0 && rng.chance(0.03)) {
      this.defects.push('missing-required-argument');
      return undefined;
    }
    const edge = rng.chance(style.edgeRate);
    const value = edge ? this.edgeValue(coordinate, arg.type) : this.validValue(coordinate, arg.type);
    if (!rng.chance(style.variableRate)) return value.literal;
    const name = this.fresh(rng.pick(['v', 'arg', 'x', 'input']));
    let type = String(arg.type);
    if (edge && rng.chance(0.1)) {
      type = rng.pick(['String', 'Int!', 'ID', 'Boolean!', '[ID!]!', 'Unknown', String(arg.type).replace(/!$/, ''), `${String(arg.type)}!`.replace(/!!$/, '!')]);
      this.defects.push('variable-type');
    }
    const withDefault = rng.chance(0.2);
    this.variables.push({ name, type, ...(withDefault ? { defaultValue: value.literal } : {}) });
    const give = rng.weighted([
      [withDefault ? 4 : 20, 'value'],
      [withDefault ? 6 : 0, 'omit'],
      [edge ? 2 : 0, 'missing'],
      [edge ? 2 : 0, 'null'],
    ] as const);
    if (give === 'value' && value.hasJson) this.values[name] = value.json;
    else if (give === 'null') this.values[name] = null;
    else if (give === 'missing' && required) this.defects.push('missing-variable');
    return `$${name}`;
  }

  directives(): string {
    const { rng, style } = this;
    if (!rng.chance(style.directiveRate)) return '';
    const parts: string[] = [];
    // One @skip and one @include at most per location, except for a deliberate pile-up past max_directives.
    const count = rng.weighted([[10, 1], [2, 2], [style.edgeRate > 0 ? 0.3 : 0, rng.int(49, 60)]]);
    const first = rng.pick(['skip', 'include']);
    for (let i = 0; i < count; i += 1) {
      const directive = count === 2 ? ['skip', 'include'][i]! : count === 1 ? first : rng.pick(['skip', 'include']);
      let condition: string;
      if (rng.chance(0.5)) {
        condition = rng.chance(0.85) ? 'true' : 'false';
        // Keep most fields selected: @skip(if: false) / @include(if: true).
        if (directive === 'skip') condition = condition === 'true' ? 'false' : 'true';
      } else {
        const name = this.fresh('flag');
        const withDefault = rng.chance(0.4);
        this.variables.push({ name, type: withDefault ? 'Boolean' : 'Boolean!', ...(withDefault ? { defaultValue: String(directive === 'include') } : {}) });
        if (!withDefault || rng.chance(0.5)) this.values[name] = directive === 'include' ? rng.chance(0.85) : rng.chance(0.15);
        condition = `$${name}`;
      }
      parts.push(` @${directive}(if: ${condition})`);
    }
    if (count >= 49) this.defects.push('many-directives');
    return parts.join('');
  }

  /** The selection set of an object type, `depth` levels below the root. */
  selectionSet(type: GraphQLObjectType, depth: number): string {
    const { rng, style } = this;
    const all = Object.values(type.getFields());
    const deeper = depth < style.maxDepth;
    const candidates = all.filter((f) => deeper || isLeafType(getNamedType(f.type)));
    const chosen = rng.shuffle(candidates.length > 0 ? candidates : all).slice(0, rng.weighted([[4, 1], [4, 2], [3, 3], [1, 5]]));
    // Deep operations go down an object field on purpose, to reach the depth limit.
    if (deeper && style.maxDepth >= 5 && !chosen.some((f) => isObjectType(getNamedType(f.type)))) {
      const object = all.filter((f) => isObjectType(getNamedType(f.type)));
      if (object.length > 0) chosen.push(rng.pick(object));
    }
    const used = new Set<string>();
    const selections = chosen.map((field) => this.field(type, field, depth, used));
    if (rng.chance(0.08)) selections.push('__typename');
    if (this.aliasesLeft > 0 && rng.chance(0.5)) {
      const leaf = all.find((f) => isLeafType(getNamedType(f.type)) && f.args.length === 0);
      if (leaf) {
        while (this.aliasesLeft > 0) {
          selections.push(`${this.fresh('al')}: ${leaf.name}`);
          this.aliasesLeft -= 1;
        }
      }
    }
    if (rng.chance(style.fragmentRate) && selections.length > 0) {
      // Move part of the selections into a fragment: named, inline with a type condition, or inline without one.
      const cut = rng.int(1, selections.length);
      const moved = selections.splice(0, cut).join(' ');
      const form = rng.pick(['named', 'inline', 'bare'] as const);
      if (form === 'named') {
        const name = this.fresh('F');
        this.fragments.push(`fragment ${name} on ${type.name} { ${moved} }`);
        selections.push(`...${name}${this.directives()}`);
      } else if (form === 'inline') {
        selections.push(`... on ${type.name}${this.directives()} { ${moved} }`);
      } else {
        selections.push(`...${this.directives()} { ${moved} }`);
      }
    }
    return `{ ${selections.join(' ')} }`;
  }

  /** A field selection; `used` holds the response names of its selection set (a repeated one gets an alias). */
  field(parent: GraphQLObjectType, field: GraphQLField<unknown, unknown>, depth: number, used: Set<string>): string {
    const { rng, style } = this;
    let text = '';
    if (used.has(field.name) || rng.chance(style.aliasRate)) text += `${this.fresh(rng.pick(['a', 'alias', 'x']))}: `;
    else used.add(field.name);
    text += field.name;
    const args = field.args.map((arg) => [arg.name, this.argument(`${parent.name}.${field.name}.${arg.name}`, arg)] as const).filter(([, v]) => v !== undefined);
    if (args.length > 0) text += `(${args.map(([k, v]) => `${k}: ${v}`).join(', ')})`;
    text += this.directives();
    const named = getNamedType(field.type);
    if (isObjectType(named)) text += ` ${this.selectionSet(named, depth + 1)}`;
    return text;
  }
}

/** Deliberate defects of an otherwise generated operation, each one way a document can be invalid. */
const defects: Readonly<Record<string, (doc: { selection: string; fragments: string[]; variables: VariableDefinition[]; rng: Random }) => void>> = {
  'unknown-field': (d) => void (d.selection = d.selection.replace(/\{ /, `{ ${d.rng.pick(['password', 'secret', 'tenantId', 'prodcts', '__proto__', 'constructor'])} `)),
  'unknown-argument': (d) => void (d.selection = d.selection.replace(/(\w+)( \{)/, '$1(tenant: "globex", region: EU)$2')),
  'selection-on-leaf': (d) => void (d.selection = d.selection.replace(/\b(name|id|email|totalCents)\b(?! *[:{(])/, '$1 { length }')),
  'object-without-selection': (d) => void (d.selection = d.selection.replace(/\{ ([^{}]*)\}\s*\}$/, '} }')),
  'fragment-cycle': (d) => {
    d.fragments.push('fragment Cyc1 on User { id ...Cyc2 }', 'fragment Cyc2 on User { name ...Cyc1 }');
    d.selection = d.selection.replace(/\{ /, '{ me { ...Cyc1 } ');
  },
  'fragment-self-cycle': (d) => {
    d.fragments.push('fragment Self on Query { products(first: 1) { id } ...Self }');
    d.selection = d.selection.replace(/\{ /, '{ ...Self ');
  },
  'fragment-cycle-inline': (d) => {
    d.fragments.push('fragment Loop on Order { id user { orders(first: 1) { ... on Order { ...Loop } } } }');
    d.selection = d.selection.replace(/\{ /, '{ me { orders(first: 1) { ...Loop } } ');
  },
  'unused-fragment': (d) => void d.fragments.push('fragment Unused on Product { id }'),
  'undefined-fragment': (d) => void (d.selection = d.selection.replace(/\{ /, '{ ...Nowhere ')),
  'fragment-wrong-type': (d) => {
    d.fragments.push('fragment Wrong on Tenant { id }');
    d.selection = d.selection.replace(/\{ /, '{ products(first: 1) { ...Wrong } ');
  },
  'fragment-unknown-type': (d) => {
    d.fragments.push('fragment Ghost on Ghost { id }');
    d.selection = d.selection.replace(/\{ /, '{ ...Ghost ');
  },
  'unused-variable': (d) => void d.variables.push({ name: 'unused', type: 'String' }),
  'undefined-variable': (d) => void (d.selection = d.selection.replace(/\{ /, '{ product(id: $undefinedVar) { id } ')),
  'duplicate-variable': (d) => {
    const first = d.variables[0];
    if (first) d.variables.push(first);
    else d.variables.push({ name: 'dup', type: 'Int' }, { name: 'dup', type: 'String' });
  },
  'unknown-directive': (d) => void (d.selection = d.selection.replace(/\{ (\w+)/, `{ $1 @${d.rng.pick(['foo', 'defer', 'stream', 'deprecated', 'cost(weight: 0)', 'listSize(assumedSize: 1)', 'skip', 'include(if: "yes")'])}`)),
  introspection: (d) => void (d.selection = d.selection.replace(/\{ /, `{ ${d.rng.pick(['__schema { types { name } }', '__type(name: "User") { fields { name } }', '__schema { queryType { name } }'])} `)),
  'deep-nesting': (d) => void (d.selection = `{ me { orders(first: 1) { user { orders(first: 1) { user { orders(first: 1) { user { orders(first: 1) { id } } } } } } } } }`),
  'very-deep-nesting': (d) => {
    const levels = d.rng.int(3, 60);
    d.selection = `{ me { ${'orders(first: 1) { user { '.repeat(levels)}id${' } }'.repeat(levels)} } }`;
  },
  'many-aliases': (d) => void (d.selection = `{ ${Array.from({ length: d.rng.int(14, 40) }, (_, i) => `p${i}: product(id: "prd_01") { id }`).join(' ')} }`),
  'many-fields': (d) => void (d.selection = `{ products(first: 1) { ${'id name '.repeat(d.rng.int(100, 600))} } }`),
  'unknown-type-condition': (d) => void (d.selection = d.selection.replace(/\{ /, '{ ... on Ghost { id } ')),
};

export interface OperationOptions {
  /** The caller's tenant (valid ids mostly come from it). */
  readonly tenant: string;
  /** Probability of a deliberate defect. */
  readonly defectRate?: number;
}

/** One generated operation: a query mostly, a mutation sometimes, rarely a subscription (the schema has none). */
export function generateOperation(rng: Random, schema: GraphQLSchema, { tenant, defectRate = 0.15 }: OperationOptions): GeneratedOperation {
  const clean = rng.chance(0.55);
  const style: OperationStyle = {
    edgeRate: clean ? 0 : rng.pick([0.1, 0.3, 0.7]),
    variableRate: rng.pick([0, 0.3, 0.8]),
    maxDepth: rng.weighted([[3, 2], [4, 3], [3, 4], [2, 5], [2, 6], [1, 7]]),
    aliasRate: rng.pick([0, 0.1, 0.3]),
    fragmentRate: rng.pick([0, 0.15, 0.4]),
    directiveRate: rng.pick([0, 0.05, 0.2]),
    manyAliases: rng.chance(0.07) ? rng.int(12, 17) : 0,
  };
  const kind = rng.weighted([[80, 'query'], [19, 'mutation'], [1, 'subscription']] as const);
  const builder = new Builder(rng, schema, style, tenant);
  let rootFields: string[];
  let selection: string;
  if (kind === 'subscription') {
    rootFields = ['products'];
    selection = '{ products(first: 1) { id } }';
    builder.defects.push('subscription');
  } else {
    const root = (kind === 'mutation' ? schema.getMutationType() : schema.getQueryType())!;
    const fields = Object.values(root.getFields());
    const count = kind === 'mutation' ? rng.weighted([[8, 1], [1, 2]]) : rng.weighted([[6, 1], [3, 2], [1, 3]]);
    const chosen = Array.from({ length: count }, () => rng.pick(fields));
    rootFields = chosen.map((f) => f.name);
    const used = new Set<string>();
    const parts = chosen.map((f) => builder.field(root, f, 1, used));
    if (kind === 'query' && rng.chance(0.03)) parts.push('__typename');
    selection = `{ ${parts.join(' ')} }`;
  }
  const doc = { selection, fragments: builder.fragments, variables: builder.variables, rng };
  if (!clean && rng.chance(defectRate / 0.45)) {
    const name = rng.pick(Object.keys(defects));
    defects[name]!(doc);
    builder.defects.push(name);
  }
  const named = rng.chance(0.6);
  const operationName = named ? rng.pick(['Fuzz', 'Q', 'MyProfile', 'Catalog', 'op_1', 'A'.repeat(rng.pick([1, 100]))]) : undefined;
  const variableText = doc.variables.length > 0 ? `(${doc.variables.map((v) => `$${v.name}: ${v.type}${v.defaultValue !== undefined ? ` = ${v.defaultValue}` : ''}`).join(', ')})` : '';
  // The `query` keyword is optional for an anonymous query without variables.
  const head = kind === 'query' && !named && variableText === '' && rng.chance(0.5) ? '' : `${kind}${named ? ` ${operationName}` : ''}${variableText} `;
  const document = [`${head}${doc.selection}`, ...doc.fragments].join('\n');
  return { document, operationName, variables: builder.values, kind, rootFields, defects: builder.defects };
}
