import { describe, expect, it } from 'vitest';
import { HistoryRecorder } from '../../chaos/index.ts';
import { FsyncSpans, observeNodes } from '../../chaos/observe/index.ts';
import { pollUntil } from '../../runtime/process/index.ts';
import { useCluster } from '../support/index.ts';

const cluster = useCluster({ shards: 3, replicasPerShard: 0, password: 'chaos-node-observer' });

describe('node observer: what a member persists', () => {
  it("marks each member's AOF policy once, and an AOF rewrite of a member, start and end, from its INFO persistence", async () => {
    const { nodes, password } = cluster();
    const [node] = nodes;
    const client = node!.connect();
    const recorder = new HistoryRecorder();
    const abort = new AbortController();
    let stop = async () => {};
    try {
      // Enough data that the rewrite outlasts a poll or two.
      for (let i = 0; i < 20; i++) {
        const batch = client.pipeline();
        for (let j = 0; j < 5000; j++) batch.set(`{observer}:${i}:${j}`, 'x'.repeat(100));
        await batch.exec();
      }
      // Switching the AOF on writes it by a first rewrite: the observer starts once it has ended.
      expect(await client.config('SET', 'appendonly', 'yes')).toBe('OK');
      await pollUntil(async () => /aof_rewrite_in_progress:0/.test(await client.info('persistence')), {
        description: 'the first rewrite to end',
        timeoutMs: 20_000,
        intervalMs: 20,
      });
      const members = nodes.map((n, i) => ({ pod: `member-${i}`, host: n.host, port: n.port }));
      stop = observeNodes(members, { password: password! }, recorder, abort.signal, { intervalMs: 20 });
      const marks = (name: string) => recorder.history().events.filter((e) => e.name === name);
      await pollUntil(() => marks('node:persistence').length === nodes.length, {
        description: 'every member policy',
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      expect(marks('node:persistence').map((e) => e.detail)).toEqual(
        expect.arrayContaining([
          'member-0 appendonly=yes appendfsync=everysec',
          'member-1 appendonly=no appendfsync=everysec',
        ]),
      );
      expect(await client.bgrewriteaof()).toMatch(/rewriting started/);
      await pollUntil(() => marks('node:aof-rewritten').length >= 1, {
        description: 'the asked-for rewrite to end',
        timeoutMs: 20_000,
        intervalMs: 20,
      });
      // Once each, for the member whose AOF it was only.
      expect(marks('node:aof-rewrite').map((e) => e.detail)).toEqual(['member-0']);
      expect(marks('node:aof-rewritten').map((e) => e.detail)).toEqual(['member-0']);
      expect(marks('node:persistence')).toHaveLength(nodes.length);
    } finally {
      await client.config('SET', 'appendonly', 'no').catch(() => undefined);
      client.disconnect();
      abort.abort();
      await stop();
    }
  }, 60_000);

  it('reports an fsync seen running in two polls or more, with its span and what it held back', () => {
    const spans = new FsyncSpans();
    const at = (ms: number, fsyncPending: boolean, buffered = 0) => ({ at: ms, fsyncPending, buffered });
    // A fast fsync, seen once: nothing.
    expect(spans.see('a', at(0, true, 10))).toBeUndefined();
    expect(spans.see('a', at(75, false))).toBeUndefined();
    // A slow one: from its first poll to its last.
    expect(spans.see('a', at(150, true, 0))).toBeUndefined();
    expect(spans.see('a', at(225, true, 4096))).toBeUndefined();
    expect(spans.see('b', at(226, true, 1))).toBeUndefined();
    expect(spans.see('a', at(310.4, true, 512))).toBeUndefined();
    expect(spans.see('a', at(390, false))).toBe('a running for >= 160 ms from 150 ms, 4096 bytes held back');
    // A member that stops answering mid-fsync (killed): the span ends unfinished.
    expect(spans.see('b', at(300, true, 2))).toBeUndefined();
    expect(spans.see('b', undefined)).toBe('b unfinished, running for >= 74 ms from 226 ms, 2 bytes held back');
    expect(spans.see('b', undefined)).toBeUndefined();
  });
});
