import { z } from 'zod';
import { UuidSchema } from '@quire/contracts';
import { AppError } from './app-error.js';
import { paramsOf, parseStrict } from './validate.js';

const Params = z.object({ id: UuidSchema, vid: UuidSchema });
const ID = '0b6a3c1e-1111-2222-3333-444455556666';
const notFound = (what: string) => (value: string) => new AppError('not_found', `No ${what} ${value}.`, { param: 'id' });

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (AppError.is(error)) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('paramsOf', () => {
  test('answers the parsed parameters, any UUID Postgres takes included', () => {
    expect(paramsOf({ params: { id: ID, vid: ID.toUpperCase(), extra: 'x' } }, Params)).toEqual({ id: ID, vid: ID.toUpperCase() });
  });

  test("a bad parameter answers the route's error for it, with its raw value", () => {
    const error = thrown(() => paramsOf({ params: { id: 'not-a-uuid', vid: ID } }, Params, { id: notFound('collection') }));
    expect(error).toMatchObject({ code: 'not_found', status: 404, message: 'No collection not-a-uuid.', param: 'id' });
  });

  test('with several bad parameters, the first in the schema answers', () => {
    const invalid = { id: notFound('collection'), vid: notFound('version') };
    expect(thrown(() => paramsOf({ params: { vid: 'x', id: 'y' } }, Params, invalid)).message).toBe('No collection y.');
    expect(thrown(() => paramsOf({ params: { id: ID, vid: 'x' } }, Params, invalid)).message).toBe('No version x.');
  });

  test('a bad parameter without an answer of its own is a 400 naming it', () => {
    const error = thrown(() => paramsOf({ params: { id: ID, vid: 'x' } }, Params, { id: notFound('collection') }));
    expect(error).toMatchObject({ code: 'invalid_request', status: 400, param: 'vid' });
    expect(error.message).toContain('vid: must be a UUID');
  });
});

describe('parseStrict', () => {
  // Not `.strict()`: zod alone would drop an unknown key and answer as if it were not there.
  const Query = z.object({ limit: z.coerce.number().int().default(50), team: z.string().optional() });

  test('answers the parsed value when every key is known', () => {
    expect(parseStrict(Query, { team: 'a', limit: '5' }, 'query')).toEqual({ team: 'a', limit: 5 });
  });

  test('an unknown query parameter is a 400 naming it (a misspelt filter never answers unfiltered data)', () => {
    const error = thrown(() => parseStrict(Query, { team_id: 'a', since: '2999-01-01' }, 'query'));
    expect(error).toMatchObject({ code: 'invalid_request', status: 400, param: 'team_id' });
    expect(error.message).toBe("Unknown query parameters 'team_id', 'since'; this list takes limit, team.");
  });

  test('an unknown body field says "field"; other problems answer as parseWith does', () => {
    expect(thrown(() => parseStrict(Query, { extra: 1 }, 'request body')).message).toBe("Unknown field 'extra'; the body takes limit, team.");
    expect(thrown(() => parseStrict(Query, { limit: 'x' }, 'query'))).toMatchObject({ code: 'invalid_request', param: 'limit' });
  });
});
