import { describe, expect, it } from 'vitest';
import {
  COMPACT_ENTRY_HEADER_BYTES,
  decodeEntry,
  ENTRY_HEADER_BYTES,
  type Entry,
  encodeEntry,
} from '../../../client/src/cache/index.ts';
import {
  COMPACT_ENTRY_ENVELOPE_VERSION,
  ENTRY_ENVELOPE_VERSION,
  ENVELOPE_MAGIC,
  Envelope,
} from '../../../client/src/codecs/index.ts';

const value = { at: new Date(7), n: 9n, m: new Map([[1, 'x']]), e: '', u: undefined };
const entry: Entry = { value, negative: false, freshUntil: 1_800_000_000_123, staleUntil: 1_800_000_060_123, tags: [] };

describe('cache entry format (envelope version 4: compact binary header, then the value)', () => {
  for (const codec of ['json', 'msgpack'] as const) {
    it(`round-trips value, freshness, negative and tag versions (${codec})`, () => {
      const envelope = new Envelope({ codec });
      expect(decodeEntry(envelope, encodeEntry(envelope, entry, 'k'), 'k')).toEqual(entry);
      const tagged: Entry = {
        ...entry,
        tags: [
          ['user:1', 3],
          ['team:é', 8_000_000_000],
        ],
      };
      expect(decodeEntry(envelope, encodeEntry(envelope, tagged, 'k'), 'k')).toEqual(tagged);
      const negative: Entry = { ...entry, value: undefined, negative: true };
      const bytes = encodeEntry(envelope, negative, 'k');
      expect(bytes.length).toBe(COMPACT_ENTRY_HEADER_BYTES);
      expect(decodeEntry(envelope, bytes, 'k')).toEqual(negative);
      // A stale window that is not a whole number of ms (or over 49 days) is written as version 2, read alike.
      const odd: Entry = { ...tagged, staleUntil: entry.freshUntil + 0.5 };
      const v2 = encodeEntry(envelope, odd, 'k');
      expect(v2[1]).toBe(ENTRY_ENVELOPE_VERSION);
      expect(decodeEntry(envelope, v2, 'k')).toEqual(odd);
    });
  }

  it('lays the header out as documented: magic, version, codec, flags, freshUntil, stale ms, tag bytes', () => {
    const envelope = new Envelope();
    const bytes = encodeEntry(envelope, { ...entry, tags: [['t', 1]] }, 'k');
    expect([bytes[0], bytes[1], bytes[2], bytes[3]]).toEqual([ENVELOPE_MAGIC, COMPACT_ENTRY_ENVELOPE_VERSION, 1, 2]);
    expect(bytes.readDoubleLE(4)).toBe(entry.freshUntil);
    expect(bytes.readUInt32LE(12)).toBe(60_000);
    const tagBytes = bytes.readUInt32LE(16);
    expect(bytes.toString('utf8', 20, 20 + tagBytes)).toBe('[["t",1]]');
    // The value stays readable with redis-cli: the JSON codec's text follows the tags.
    expect(bytes.toString('utf8', 20 + tagBytes)).toContain('"e":""');
    // Without tags the value starts right after the 16-byte header: a 100-byte JSON value is a 122-byte entry.
    const plain = encodeEntry(envelope, { ...entry, value: { s: 'x'.repeat(92) } }, 'k');
    expect(plain.length).toBe(COMPACT_ENTRY_HEADER_BYTES + 6 + 100);
    expect(ENTRY_HEADER_BYTES - COMPACT_ENTRY_HEADER_BYTES).toBe(8);
  });

  it('still reads entries written as envelope version 1 (`[kind, value, freshUntil, staleUntil, tags]`)', () => {
    const envelope = new Envelope();
    const v1 = envelope.encode([0, value, entry.freshUntil, entry.staleUntil, [['t', 2]]], 'k');
    expect(v1[1]).toBe(1);
    expect(decodeEntry(envelope, v1, 'k')).toEqual({ ...entry, tags: [['t', 2]] });
    const v1Negative = envelope.encode([1, null, 5, 6, []], 'k');
    expect(decodeEntry(envelope, v1Negative, 'k')).toEqual({
      value: undefined,
      negative: true,
      freshUntil: 5,
      staleUntil: 6,
      tags: [],
    });
  });

  it('refuses what is not an entry with E_CODEC naming the key and what was wrong', () => {
    const envelope = new Envelope();
    expect(() => decodeEntry(envelope, envelope.encode({ plain: true }, 'k'), 'app:k')).toThrow(
      /value of 'app:k' is not a cache entry/,
    );
    const bytes = encodeEntry(envelope, { ...entry, tags: [['t', 1]] }, 'k');
    const overrun = Buffer.from(bytes);
    overrun.writeUInt32LE(10_000, 16);
    expect(() => decodeEntry(envelope, overrun, 'app:k')).toThrow(/'app:k'.*tag section of 10000 bytes overruns/);
    const badKind = Buffer.from(bytes);
    badKind[3] = 7;
    expect(() => decodeEntry(envelope, badKind, 'app:k')).toThrow(/'app:k'.*unknown flags 7/);
    const badCodec = Buffer.from(bytes);
    badCodec[2] = 99;
    expect(() => decodeEntry(envelope, badCodec, 'app:k')).toThrow(/codec id 99/);
    expect(() => decodeEntry(envelope, Buffer.from('{"a":1}'), 'app:k')).toThrow(/E_CODEC|no envelope/);
  });

  it('a plain-value reader refuses an entry with a message that says what it is', () => {
    const envelope = new Envelope();
    expect(() => envelope.decode(encodeEntry(envelope, entry, 'k'), 'app:k')).toThrow(
      /value of 'app:k' is a cache entry \(envelope version 4\)/,
    );
  });

  it('applies maxValueBytes to the whole entry (header and tags included)', () => {
    const envelope = new Envelope({ maxValueBytes: 64 });
    expect(() => encodeEntry(envelope, { ...entry, value: 'x'.repeat(50) }, 'big')).toThrow(
      /value of 'big' is \d+ bytes encoded, over maxValueBytes 64/,
    );
  });
});
