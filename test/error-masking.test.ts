import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { errorMasking } from '../gateway/error-masking.js';
import { describeError } from '../runtime/error-report.js';
import { copyLogLines } from '../runtime/logger.js';

const coercion = 'Variable "$items" got invalid value { productID: "prd_01" } at "items[0]"; Field "productID" is not defined by type "OrderItemInput". Did you mean "productId"?';

describe('error masking (formatError)', () => {
  it('drops "Did you mean" in production only, and serviceName unless allowed', () => {
    const formatted = { message: coercion, extensions: { code: 'BAD_USER_INPUT', serviceName: 'orders' } };
    expect(errorMasking({ hideSchemaDetails: true, exposeServiceNames: false })(formatted, new GraphQLError(coercion))).toEqual({
      message: 'Variable "$items" got invalid value { productID: "prd_01" } at "items[0]"; Field "productID" is not defined by type "OrderItemInput".',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(errorMasking({ hideSchemaDetails: false, exposeServiceNames: true })(formatted, new GraphQLError(coercion))).toEqual(formatted);
  });

  it('answers an Apollo 4xx without a code as BAD_REQUEST, and an internal error generically', () => {
    const mask = errorMasking({ hideSchemaDetails: true, exposeServiceNames: false });
    const badVersion = new GraphQLError('Unsupported persisted query version', { extensions: { http: { status: 400 } } });
    expect(mask({ message: badVersion.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, badVersion)).toEqual({ message: 'Unsupported persisted query version', extensions: { code: 'BAD_REQUEST' } });
    const lines: string[] = [];
    const stop = copyLogLines((line) => lines.push(line));
    try {
      expect(mask({ message: 'select * from users where email = $1; params: ada@acme.example', extensions: { code: 'INTERNAL_SERVER_ERROR' } }, new Error('select * from users where email = $1; params: ada@acme.example'))).toEqual({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
    } finally {
      stop();
    }
    expect(lines.join('\n')).not.toContain('ada@acme.example');
  });
});

describe('describeError', () => {
  it('reports class, code, hashes and frames, never a message or a parameter', () => {
    const cause = Object.assign(new Error('duplicate key value violates unique constraint "users_email_unique" (ada@acme.example)'), { code: '23505' });
    const failed = Object.assign(new Error('Failed query: insert into users ... params: usr_acme_1,Ada Lovelace,ada@acme.example', { cause }), { query: 'insert into "users" ("id", "name", "email") values ($1, $2, $3)' });
    const report = describeError(failed);
    expect(report).toEqual({
      errorClass: 'Error',
      code: null,
      messageHash: expect.stringMatching(/^[0-9a-f]{12}$/),
      statementHash: expect.stringMatching(/^[0-9a-f]{12}$/),
      causes: [{ errorClass: 'Error', code: '23505', messageHash: expect.stringMatching(/^[0-9a-f]{12}$/), frames: [] }],
      frames: expect.arrayContaining([expect.stringMatching(/^at /)]),
    });
    expect(JSON.stringify(report)).not.toMatch(/ada@acme|Lovelace|usr_acme/);
  });
});
