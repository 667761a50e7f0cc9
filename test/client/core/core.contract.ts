import { createClient, defineScript, isSlotforgeError, keySlot } from '@slotforge/client';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';

const bump = defineScript('bump', "return redis.call('INCRBY', KEYS[1], ARGV[1])");

/** Core command layer and facade: the same behaviour on standalone, cluster and sentinel. */
export default function coreContract(fixture: ContractFixture): void {
  it('round-trips values that plain JSON loses, and keeps falsy values distinct from a miss', async () => {
    const client = fixture.client();
    const value = {
      at: new Date('2024-01-02T03:04:05.006Z'),
      big: 2n ** 70n,
      m: new Map([[1, new Set(['a'])]]),
      u: undefined,
      n: null,
    };
    await client.set('rich', value);
    expect(await client.get('rich')).toEqual(value);
    for (const [key, falsy] of [
      ['empty', ''],
      ['zero', 0],
      ['false', false],
      ['null', null],
    ] as const) {
      await client.set(key, falsy);
      expect(await client.get(key)).toBe(falsy);
    }
    expect(await client.get('absent')).toBeUndefined();
  });

  it('deletes and reads keys spread over every slot without CROSSSLOT', async () => {
    const client = fixture.client();
    const keys = Array.from({ length: 300 }, (_, i) => `spread:${i}`);
    expect(new Set(keys.map(keySlot)).size).toBeGreaterThan(250);
    await Promise.all(keys.map((k, i) => client.set(k, i)));
    const values = await client.getMany<number>([...keys, 'spread:missing']);
    expect(values).toEqual([...keys.map((_, i) => i), undefined]);
    expect(await client.delete(...keys, 'spread:missing')).toBe(300);
    expect(await client.getMany(keys.slice(0, 5))).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('runs a batch grouped per node with per-command outcomes in input order', async () => {
    const client = fixture.client();
    const { commands, keys } = client.context;
    const ops = Array.from({ length: 50 }, (_, i) => ({ command: 'SET', args: [keys.key(`b:${i}`), String(i)] }));
    const results = await commands.batch([
      ...ops,
      { command: 'LPUSH', args: [keys.key('b:0'), 'x'] },
      { command: 'GET', args: [keys.key('b:7')] },
    ]);
    expect(results.slice(0, 50).every((r) => r.ok && r.value === 'OK')).toBe(true);
    const wrongType = results[50];
    expect(wrongType?.ok).toBe(false);
    if (wrongType && !wrongType.ok) {
      expect(wrongType.error.code).toBe('E_COMMAND');
      expect(wrongType.error.message).toMatch(/WRONGTYPE/);
    }
    expect(results[51]).toEqual({ ok: true, value: '7' });
  });

  it('scans every master (never KEYS) and finds every key of the namespace', async () => {
    const client = fixture.client();
    const { commands, keys } = client.context;
    const written = Array.from({ length: 120 }, (_, i) => `scan:${i}`);
    await Promise.all(written.map((k) => client.set(k, 1)));
    const found = new Set<string>();
    for await (const page of commands.scan(keys.pattern('scan:*'), { count: 50 }))
      for (const k of page) found.add(keys.strip(k));
    expect([...found].sort()).toEqual([...written].sort());
  });

  it('runs a cached script with EVALSHA and reloads it after SCRIPT FLUSH', async () => {
    const client = fixture.client();
    const { commands, keys } = client.context;
    const key = keys.key('script:counter');
    expect(await commands.eval(bump, [key], [5])).toBe(5);
    await Promise.all(commands.masters().map((node) => commands.callNode(node, 'SCRIPT', ['FLUSH'])));
    expect(await commands.eval(bump, [key], [2])).toBe(7);
  });

  it('rejects bad input with the option, the rule and the value', async () => {
    const client = fixture.client();
    await expect(client.set('k', 1, { ttlMs: -5 })).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'ttlMs',
      received: -5,
      message: 'option ttlMs must be a whole number of milliseconds >= 1 (got -5)',
    });
    await expect(client.get('')).rejects.toSatisfy((e) => isSlotforgeError(e, 'E_INVALID_OPTION'));
  });

  it('rejects an oversize value with E_OVERSIZE and writes nothing', async () => {
    const client = fixture.client({ maxValueBytes: 1024 });
    const error = await client.set('huge', 'x'.repeat(2000)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_OVERSIZE', option: 'maxValueBytes' });
    // The 2000-byte string plus the entry fields and the 3-byte envelope header.
    expect((error as { received: number }).received).toBeGreaterThan(2000);
    expect((error as { received: number }).received).toBeLessThan(2100);
    expect(await client.get('huge')).toBeUndefined();
  });

  it('connects from a URL (redis://, redis+cluster://, redis+sentinel://)', async () => {
    const c = fixture.connection();
    const auth = c.password ? `:${encodeURIComponent(c.password)}@` : '';
    const url =
      fixture.mode === 'cluster'
        ? `redis+cluster://${auth}${c.cluster?.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`
        : fixture.mode === 'sentinel'
          ? `redis+sentinel://${auth}${c.sentinel?.sentinels?.map((n) => `${n.host}:${n.port}`).join(',')}/${c.sentinel?.masterName}`
          : `redis://${auth}${c.host}:${c.port}`;
    const viaOptions = fixture.client();
    const viaUrl = createClient({ url, namespace: viaOptions.options.namespace });
    try {
      expect(viaUrl.commands.mode).toBe(fixture.mode);
      await viaOptions.set('url', new Date(7));
      expect(await viaUrl.get('url')).toEqual(new Date(7));
    } finally {
      await viaUrl.close();
    }
  });

  it('reports server time close to the local clock', async () => {
    const client = fixture.client();
    const serverMs = await client.commands.time('any');
    expect(Math.abs(serverMs - Date.now())).toBeLessThan(2000);
  });

  it('connects to a cluster although a seed name no longer resolves (a scaled-in pod; ioredis alone never connects)', async (ctx) => {
    const connection = fixture.connection();
    if (fixture.mode !== 'cluster' || !connection.cluster) return ctx.skip();
    const client = fixture.client({
      ...connection,
      cluster: { nodes: [{ host: 'scaled-in.invalid', port: 6379 }, ...connection.cluster.nodes] },
    } as never);
    await client.set('seeded', 'yes');
    expect(await client.get('seeded')).toBe('yes');
  });
}
