import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { padded, renderPodHosts, writeInPlace } from '../../../runtime/local/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'slotforge-dns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The names a hosts-file reader (glibc's files backend) finds in `text`: comments cut, fields after the address. */
function names(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [ip, ...rest] = (line.split('#')[0] ?? '').trim().split(/\s+/);
    if (ip) for (const name of rest) if (!out.has(name)) out.set(name, ip);
  }
  return out;
}

describe('the cluster DNS hosts file', () => {
  const long = renderPodHosts([
    { ip: '10.0.0.2', names: ['rc-shard-0-0', 'rc-shard-0-0.rc-peers.default.svc.cluster.local'] },
    { ip: '10.0.0.3', names: ['rc-shard-0-1', 'rc-shard-0-1.rc-peers.default.svc.cluster.local'] },
  ]);
  const short = renderPodHosts([{ ip: '10.0.0.9', names: ['rc-shard-0-0'] }]);

  it('is rewritten on the same inode, never shorter, so no reader meets it empty or with an old tail', () => {
    const path = join(dir, 'hosts');
    writeInPlace(path, long);
    const inode = statSync(path).ino;
    writeInPlace(path, short);
    const text = readFileSync(path, 'utf8');
    expect(statSync(path).ino).toBe(inode);
    expect(text.length).toBe(long.length);
    expect(text.startsWith(short)).toBe(true);
    // What a resolver reads: only the new records (the old ones past the new end are inside one comment line).
    expect(Object.fromEntries(names(text))).toEqual(Object.fromEntries(names(short)));
    expect(text.endsWith('\n')).toBe(true);
    writeInPlace(path, long);
    expect(readFileSync(path, 'utf8')).toBe(long);
  });

  it('pads with one comment line, or a lone newline when one byte is missing', () => {
    expect(padded('a\n', 2).toString()).toBe('a\n');
    expect(padded('a\n', 3).toString()).toBe('a\n\n');
    expect(padded('a\n', 6).toString()).toBe('a\n#  \n');
    expect(padded('abc\n', 2).toString()).toBe('abc\n');
  });
});
