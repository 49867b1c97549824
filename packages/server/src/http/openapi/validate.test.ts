import { describe, expect, it } from 'vitest';
import { CASES, egEvent, hook, mutate, rng } from '../../../test/fixtures/request-bodies.js';
import { jsonPath, schemaError, validateArmBody, validatePublishBody } from './validate.js';

const throws = (f: () => unknown) => {
  try {
    f();
    return false;
  } catch {
    return true;
  }
};

describe('request schemas', () => {
  it.each(CASES)(
    '$schema never rejects a body its parser accepts (seeded mutations)',
    ({ schema, parse, seed }) => {
      expect(
        throws(() => parse(seed)),
        'the seed must be valid',
      ).toBe(false);
      expect(schemaError(schema, seed)).toBeUndefined();
      const r = rng(schema.length * 7919);
      let accepted = 0;
      let rejectedBySchema = 0;
      for (let i = 0; i < 400; i++) {
        const body = mutate(seed, r);
        const schemaSays = schemaError(schema, body);
        if (schemaSays) rejectedBySchema++;
        if (throws(() => parse(body))) continue;
        accepted++;
        expect(schemaSays?.message, `accepted by the parser: ${JSON.stringify(body)}`).toBeUndefined();
      }
      // Not vacuous: the mutations produce both bodies the parser takes and bodies the schema refuses.
      expect(accepted).toBeGreaterThan(20);
      expect(rejectedBySchema).toBeGreaterThan(20);
    },
  );

  it('names the field at fault as a JSON path with a clear message', () => {
    const err = (f: () => void) => {
      try {
        f();
      } catch (e) {
        const x = e as { code: string; target?: string; message: string; status: number };
        return { status: x.status, code: x.code, target: x.target, message: x.message };
      }
      return undefined;
    };
    const filters = [{ operatorType: 'IsNotNull', key: 'a' }, { operatorType: 'IsNotNull', key: 'b' }, 'x'];
    expect(
      err(() =>
        validateArmBody({ kind: 'eventSubscription' }, 'PUT', {
          properties: { destination: hook, filter: { advancedFilters: filters } },
        }),
      ),
    ).toEqual({
      status: 400,
      code: 'InvalidRequestContent',
      target: 'properties.filter.advancedFilters[2]',
      message: 'properties.filter.advancedFilters[2]: must be a JSON object',
    });
    expect(
      err(() =>
        validateArmBody({ kind: 'topic' }, 'PUT', { location: 'l', properties: { inputSchema: 'Nope' } }),
      ),
    ).toMatchObject({
      target: 'properties.inputSchema',
      message:
        'properties.inputSchema: must be one of EventGridSchema, CloudEventSchemaV1_0, CustomInputSchema',
    });
    expect(
      err(() =>
        validateArmBody({ kind: 'workspace' }, 'PUT', {
          location: 'l',
          properties: { mlgridSettings: { failureEvent: true } },
        }),
      ),
    ).toMatchObject({
      target: 'properties.mlgridSettings.failureEvent',
    });
    expect(
      err(() =>
        validateArmBody({ kind: 'job' }, 'PUT', { properties: { jobType: 'command', command: 'x' } }),
      ),
    ).toMatchObject({
      target: 'properties.environmentId',
      message: 'properties.environmentId: is required',
    });
    expect(err(() => validateArmBody({ kind: 'topic' }, 'PUT', undefined))).toMatchObject({ target: 'body' });
    // Actions without a body schema, and optional bodies left out, pass through.
    expect(
      err(() => validateArmBody({ kind: 'topic', action: 'listKeys' }, 'POST', 'anything')),
    ).toBeUndefined();
    expect(
      err(() =>
        validateArmBody({ kind: 'eventSubscription', action: 'rotateSigningSecret' }, 'POST', undefined),
      ),
    ).toBeUndefined();
    expect(
      err(() => validatePublishBody('EventGridSchema', 'json', [egEvent(1), { ...egEvent(2), subject: 5 }])),
    ).toMatchObject({
      code: 'InvalidEvent',
      target: '[1].subject',
    });
    expect(
      err(() =>
        validatePublishBody(
          'EventGridSchema',
          'json',
          Array.from({ length: 5001 }, () => ({})),
        ),
      ),
    ).toMatchObject({
      code: 'TooManyEvents',
      target: 'body',
    });
    const ce = { specversion: '1.0', id: '1', source: 's', type: 't', Bad_Ext: 1 };
    expect(err(() => validatePublishBody('CloudEventSchemaV1_0', 'cloudevents', ce))).toMatchObject({
      target: '[0].Bad_Ext',
    });
    // A Content-Type the topic cannot take is the publish parser's 415, not a schema error.
    expect(err(() => validatePublishBody('EventGridSchema', 'cloudevents', ce))).toBeUndefined();
  });

  it('spells JSON Pointers the way the parsers name fields', () => {
    expect(jsonPath('', 'body')).toBe('body');
    expect(jsonPath('/properties/filter/advancedFilters/2/values/0', 'body')).toBe(
      'properties.filter.advancedFilters[2].values[0]',
    );
    expect(jsonPath('/0/eventTime', 'body')).toBe('[0].eventTime');
    expect(jsonPath('/tags/a~1b~0c', 'body')).toBe('tags.a/b~c');
  });
});
