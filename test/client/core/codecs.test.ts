import { ENVELOPE_MAGIC, Envelope, jsonCodec, msgpackCodec, parseTagged, stringifyTagged } from '@slotforge/client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const rich = {
  at: new Date('2024-05-06T07:08:09.010Z'),
  invalidDate: new Date(Number.NaN),
  big: 123456789012345678901234567890n,
  negative: -5n,
  map: new Map<unknown, unknown>([
    ['a', 1],
    [2, new Map([['nested', new Set([1, 2])]])],
  ]),
  set: new Set(['x', undefined, null]),
  undef: undefined,
  nul: null,
  empty: '',
  zero: 0,
  negZero: -0,
  nan: Number.NaN,
  inf: Number.NEGATIVE_INFINITY,
  no: false,
  arr: [undefined, null, 1],
  bytes: new Uint8Array([0, 255, 7]),
  $t: 'a caller key that looks like a tag',
  $$t: 'and its escaped form',
};

describe('json codec', () => {
  it('round-trips Date, BigInt, Map, Set, undefined vs null, empty string, -0, NaN and bytes', () => {
    const back = parseTagged(stringifyTagged(rich)) as typeof rich;
    expect(back).toEqual(rich);
    expect(Object.hasOwn(back, 'undef')).toBe(true);
    expect(back.undef).toBeUndefined();
    expect(back.nul).toBeNull();
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(back.at).toBeInstanceOf(Date);
  });

  it('round-trips top-level falsy values exactly', () => {
    for (const v of ['', 0, false, null, undefined, Number.NaN])
      expect(parseTagged(stringifyTagged(v))).toStrictEqual(v);
  });

  it('stays plain JSON (readable with redis-cli) for plain values', () => {
    expect(jsonCodec.encode({ a: [1, 'x'] }).toString()).toBe('{"r":{"a":[1,"x"]}}');
  });

  it('round-trips arbitrary JSON-like values (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(parseTagged(stringifyTagged(value))).toStrictEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it('regression (seed): plain JSON turned Dates into strings and threw on BigInt', () => {
    expect(typeof JSON.parse(JSON.stringify({ at: new Date(0) })).at).toBe('string');
    expect(() => JSON.stringify({ n: 1n })).toThrow();
    const back = jsonCodec.decode(jsonCodec.encode({ at: new Date(0), n: 1n })) as { at: Date; n: bigint };
    expect(back.at).toBeInstanceOf(Date);
    expect(back.n).toBe(1n);
  });
});

describe('msgpack codec', () => {
  it('round-trips the same rich value, Maps included', () => {
    // msgpack writes -0 as the integer 0; byte arrays come back as Buffers.
    const { bytes: _bytes, negZero: _negZero, ...rest } = rich;
    const back = msgpackCodec.decode(msgpackCodec.encode(rest));
    expect(back).toEqual(rest);
    expect((back as typeof rest).map).toBeInstanceOf(Map);
  });
});

describe('envelope', () => {
  it('writes magic, version and codec id ahead of the payload', () => {
    const bytes = new Envelope({ codec: 'msgpack' }).encode('x');
    expect([bytes[0], bytes[1], bytes[2]]).toEqual([ENVELOPE_MAGIC, 1, msgpackCodec.id]);
  });

  it('reads values written by another codec after the codec changes', () => {
    const oldWrites = new Envelope({ codec: 'json' }).encode({ at: new Date(1) });
    const reader = new Envelope({ codec: 'msgpack' });
    expect(reader.decode(oldWrites)).toEqual({ at: new Date(1) });
  });

  it('refuses unversioned or unknown data with E_CODEC instead of misreading it', () => {
    const envelope = new Envelope();
    expect(() => envelope.decode(Buffer.from('{"a":1}'), 'k')).toThrow(
      expect.objectContaining({ code: 'E_CODEC', key: 'k' }),
    );
    expect(() => envelope.decode(Buffer.from([ENVELOPE_MAGIC, 9, 1, 0x31]))).toThrow(/envelope version 9/);
    expect(() => envelope.decode(Buffer.from([ENVELOPE_MAGIC, 1, 77, 0x31]))).toThrow(/codec id 77/);
    expect(new Envelope({ legacyJson: true }).decode(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
  });

  it('rejects an oversize value with the size and the limit', () => {
    const envelope = new Envelope({ maxValueBytes: 100 });
    expect(() => envelope.encode('y'.repeat(200), 'big')).toThrow(
      expect.objectContaining({ code: 'E_OVERSIZE', key: 'big', option: 'maxValueBytes', received: 211 }),
    );
  });

  it('reports a value that cannot be encoded as E_CODEC', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => new Envelope().encode(cyclic, 'c')).toThrow(expect.objectContaining({ code: 'E_CODEC', key: 'c' }));
  });

  it('validates its options', () => {
    expect(() => new Envelope({ codec: 'yaml' as 'json' })).toThrow(
      "option codec must be 'json', 'msgpack' or a Codec (got 'yaml')",
    );
    expect(() => new Envelope({ maxValueBytes: 0 })).toThrow('option maxValueBytes must be an integer >= 16 (got 0)');
  });
});
