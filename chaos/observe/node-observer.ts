import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { parseClusterNodes, parseInfo } from '../../runtime/redis/index.ts';
import type { HistoryRecorder } from '../history.ts';
import type { ObservedMember } from '../target.ts';
import { type FsyncSample, FsyncSpans } from './fsync-spans.ts';
import { callWithin, memberClient } from './member-client.ts';

/** Options of {@link observeNodes}. */
export interface NodeObserverOptions {
  /** Pause between two polls of one member. @default 75 (the issue asks for 50-100 ms) */
  readonly intervalMs?: number;
  /** A poll that takes longer is abandoned (a paused or cut-off member); the next one starts after the interval. @default 400 */
  readonly pollTimeoutMs?: number;
}

/** What one poll of one member saw, reduced to what the timeline needs. */
interface MemberView {
  readonly role: 'master' | 'replica';
  readonly clusterState: string;
  readonly authRequestsSent: number;
  readonly epoch: number;
  /** Flags each node id carries in this member's CLUSTER NODES (pfail shows as `fail?`). */
  readonly flags: ReadonlyMap<string, string>;
  /** INFO persistence, when the AOF is on: what decides whether a kill of this member loses what it acknowledged. */
  readonly aof?: AofView;
  /** INFO persistence answered (a member under load may answer CLUSTER NODES and time out on it). */
  readonly persistenceAnswered: boolean;
}

/** The AOF fields of INFO persistence the observer follows. */
interface AofView extends FsyncSample {
  /** Times Redis stopped waiting for a slow fsync, after 2 s, and wrote anyway (`aof_delayed_fsync`). */
  readonly delayedFsyncs: number;
  readonly rewriting: boolean;
}

/**
 * Polls CLUSTER NODES and CLUSTER INFO of every member, from the host, every `intervalMs`, one loop per member, and
 * records each change that explains a failover as a history event on the recorder's clock:
 *
 * - `node:pfail` / `node:fail`: member X now flags node Y `fail?` (its own timeout) / `fail` (a majority agreed);
 * - `node:election`: X sent failover auth requests (`cluster_stats_messages_auth-req_sent` grew);
 * - `node:promoted` / `node:demoted`: X's own role changed;
 * - `node:state`: X's `cluster_state` changed (ok / fail);
 * - `node:forgotten`: a node Y X knew is no longer in X's CLUSTER NODES (CLUSTER FORGET, or a reset).
 * - `node:fsync-slow`: X's AOF fsync was seen running in consecutive polls, detail the span seen (a lower bound of its
 *   duration) and the most bytes of acknowledged writes it held back meanwhile. With `appendfsync everysec` Redis
 *   postpones writing its AOF buffer while an fsync runs (for up to 2 s) and keeps answering: a SIGKILL then loses
 *   those acknowledged writes. Marked when the fsync ends or the member stops answering (`unfinished`).
 * - `node:aof-delayed`: X gave up waiting for a slow fsync after 2 s (`aof_delayed_fsync` grew);
 * - `node:aof-rewrite` / `node:aof-rewritten`: X's AOF rewrite started / ended;
 * - `node:persistence`: once per member, its `appendonly` and `appendfsync` (CONFIG GET), e.g.
 *   `redis-shard-0-0 appendonly=yes appendfsync=everysec`: what a checker needs to know which losses Redis allows.
 *
 * Details name pods (`observer -> subject`), mapped from node addresses to the members' pod names. Returns a stop
 * function; polling also stops with `signal`.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#failure-detection
 */
export function observeNodes(
  members: readonly ObservedMember[],
  auth: { username?: string; password?: string },
  recorder: HistoryRecorder,
  signal: AbortSignal,
  options: NodeObserverOptions = {},
): () => Promise<void> {
  const intervalMs = options.intervalMs ?? 75;
  const podByHost = new Map(members.map((m) => [`${m.host}:${m.port}`, m.pod]));
  /** Node id to pod name, learnt from any member's CLUSTER NODES. */
  const podById = new Map<string, string>();
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort, { once: true });

  const pollMs = options.pollTimeoutMs ?? 400;
  const poll = async (client: Redis): Promise<MemberView> => {
    const [nodes, info, persistence] = await Promise.all([
      callWithin(client, pollMs, 'CLUSTER', 'NODES'),
      callWithin(client, pollMs, 'CLUSTER', 'INFO'),
      callWithin(client, pollMs, 'INFO', 'persistence').catch(() => undefined),
    ]);
    const lines = parseClusterNodes(String(nodes));
    const flags = new Map<string, string>();
    let role: MemberView['role'] = 'master';
    for (const line of lines) {
      const pod = podByHost.get(line.address.split('@')[0] ?? '');
      if (pod) podById.set(line.id, pod);
      flags.set(line.id, line.flags.filter((f) => f !== 'myself').join(','));
      if (line.flags.includes('myself')) role = line.flags.includes('master') ? 'master' : 'replica';
    }
    const fields = parseInfo(String(info));
    const aof = persistence === undefined ? {} : parseInfo(String(persistence));
    return {
      role,
      clusterState: fields.cluster_state ?? '?',
      authRequestsSent: Number(fields['cluster_stats_messages_auth-req_sent'] ?? 0),
      epoch: Number(fields.cluster_current_epoch ?? 0),
      flags,
      persistenceAnswered: persistence !== undefined,
      ...(aof.aof_enabled === '1'
        ? {
            aof: {
              fsyncPending: Number(aof.aof_pending_bio_fsync ?? 0) > 0,
              buffered: Number(aof.aof_buffer_length ?? 0),
              delayedFsyncs: Number(aof.aof_delayed_fsync ?? 0),
              rewriting: aof.aof_rewrite_in_progress === '1',
              at: recorder.elapsed(),
            },
          }
        : {}),
    };
  };

  const fsyncs = new FsyncSpans();
  /** Marks `node:persistence` for `pod`; false when CONFIG GET did not answer (asked again at the next poll). */
  const markPolicy = async (pod: string, client: Redis): Promise<boolean> => {
    const reply = await callWithin(client, pollMs, 'CONFIG', 'GET', 'appendonly', 'appendfsync').catch(() => undefined);
    if (reply === undefined) return false;
    // callWithin gives the reply as a string: the array's items joined by commas (names and values have none).
    const items = reply.split(',');
    const config = new Map<string, string>();
    for (let i = 0; i + 1 < items.length; i += 2) config.set(items[i] ?? '', items[i + 1] ?? '');
    recorder.mark(
      'node:persistence',
      `${pod} appendonly=${config.get('appendonly') ?? '?'} appendfsync=${config.get('appendfsync') ?? '?'}`,
    );
    return true;
  };

  const record = (pod: string, before: MemberView | undefined, now: MemberView) => {
    if (!before) return;
    for (const [id, flags] of now.flags) {
      const was = before.flags.get(id) ?? '';
      const subject = podById.get(id) ?? id.slice(0, 8);
      if (has(flags, 'fail?') && !has(was, 'fail?')) recorder.mark('node:pfail', `${pod} -> ${subject}`);
      if (has(flags, 'fail') && !has(was, 'fail')) recorder.mark('node:fail', `${pod} -> ${subject}`);
    }
    for (const [id, flags] of before.flags) {
      // A handshake entry has a random id that is dropped once the handshake ends: not a forgotten node.
      if (!now.flags.has(id) && !has(flags, 'handshake')) {
        recorder.mark('node:forgotten', `${pod} -> ${podById.get(id) ?? id.slice(0, 8)}`);
      }
    }
    if (now.authRequestsSent > before.authRequestsSent) {
      recorder.mark('node:election', `${pod} (epoch ${now.epoch})`);
    }
    if (before.role !== now.role) recorder.mark(now.role === 'master' ? 'node:promoted' : 'node:demoted', pod);
    if (before.clusterState !== now.clusterState) recorder.mark('node:state', `${pod} ${now.clusterState}`);
    if (before.aof && now.aof) {
      if (now.aof.delayedFsyncs > before.aof.delayedFsyncs) recorder.mark('node:aof-delayed', pod);
      if (now.aof.rewriting !== before.aof.rewriting) {
        recorder.mark(now.aof.rewriting ? 'node:aof-rewrite' : 'node:aof-rewritten', pod);
      }
    }
  };

  const loops = members.map(async (member) => {
    const client = memberClient(member, auth);
    let last: MemberView | undefined;
    let policyMarked = false;
    try {
      while (!stop.signal.aborted) {
        const view = await poll(client).catch(() => undefined);
        // No answer at all ends what was seen of its fsync (killed, paused); a slow INFO alone proves nothing.
        const slow = view && !view.persistenceAnswered ? undefined : fsyncs.see(member.pod, view?.aof);
        if (slow) recorder.mark('node:fsync-slow', slow);
        if (view && !policyMarked) policyMarked = await markPolicy(member.pod, client);
        if (view) {
          record(member.pod, last, view);
          last = view;
        }
        // An abort ends the sleep early (AbortError, ignored: the loop condition ends the loop).
        await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    } finally {
      client.disconnect();
    }
  });

  return async () => {
    stop.abort();
    signal.removeEventListener('abort', abort);
    await Promise.all(loops);
  };
}

const has = (flags: string, flag: string) => flags.split(',').includes(flag);
