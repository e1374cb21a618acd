import { describe, expect, it } from 'vitest';
import { dedupRepresentations } from '../gateway/entity-dedup.js';

const user = (id: string) => ({ __typename: 'User', id });

describe('representation deduplication of an entity fetch', () => {
  it('sends each distinct representation once and gives every position its entity back', () => {
    const deduped = dedupRepresentations({ first: 3, representations: [user('1'), user('2'), user('1'), user('1')] })!;
    expect(deduped.variables).toEqual({ first: 3, representations: [user('1'), user('2')] });
    const ada = { name: 'Ada' };
    const alan = { name: 'Alan' };
    expect(deduped.expand({ data: { _entities: [ada, alan] } })).toEqual({ data: { _entities: [ada, alan, ada, ada] } });
  });

  it('repeats an error at an entity for every position of that entity, and keeps other errors as they are', () => {
    const deduped = dedupRepresentations({ representations: [user('1'), user('2'), user('1')] })!;
    const response = deduped.expand({
      data: { _entities: [null, { name: 'Alan' }] },
      errors: [
        { message: 'no such user', path: ['_entities', 0, 'name'] },
        { message: 'rate limited' },
      ],
    });
    expect(response.data).toEqual({ _entities: [null, { name: 'Alan' }, null] });
    expect(response.errors).toEqual([
      { message: 'no such user', path: ['_entities', 0, 'name'] },
      { message: 'no such user', path: ['_entities', 2, 'name'] },
      { message: 'rate limited' },
    ]);
  });

  it('leaves a fetch alone when no representation repeats, or it has none', () => {
    expect(dedupRepresentations({ representations: [user('1'), user('2')] })).toBeUndefined();
    expect(dedupRepresentations({ first: 2 })).toBeUndefined();
    expect(dedupRepresentations(undefined)).toBeUndefined();
  });
});
