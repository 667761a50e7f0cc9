/**
 * Construction: resolved options -> an ioredis standalone, sentinel or cluster client with fault-surviving defaults.
 *
 * @see https://github.com/redis/ioredis#cluster for the options tuned here.
 * @internal Used by the ioredis folder only.
 */
import { lookup } from 'node:dns';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { type BreakerState, CircuitBreaker } from '../breaker.ts';
import type { NodeRef } from '../commands.ts';
import { type Clock, raceClock } from '../deps.ts';
import type { ResolvedConnectionOptions } from '../options.ts';
import { MAX_TIMER_MS } from '../validate.ts';
import { sentinelReason } from './sentinel-errors.ts';
import { keepShardedSubscribersResettable } from './sharded-subscribers.ts';

/** The client every command goes through. */
export type Client = Redis | Cluster;

/**
 * ioredis resolves every seed hostname before connecting and gives up on all of them when one fails (ioredis#979,
 * wontfix): a seed list naming one scaled-in pod would never connect. An unresolvable seed keeps its name instead, so
 * only its own connection fails and the other seeds serve the slot map.
 */
function lookupOrKeep(
  hostname: string,
  callback: (error: NodeJS.ErrnoException | null, address: string) => void,
): void {
  lookup(hostname, (error, address) => callback(null, error ? hostname : address));
}

/** The options every connection to a data node shares. */
function redisOptions(o: ResolvedConnectionOptions): RedisOptions {
  return {
    username: o.username,
    password: o.password,
    db: o.db,
    tls: o.tls ? {} : undefined,
    connectTimeout: o.connectTimeoutMs,
    // One attempt's deadline; the operation's deadline is ours (withRetry).
    commandTimeout: o.attemptTimeoutMs,
    connectionName: o.connectionName,
    // Our loop retries; ioredis retrying too would multiply attempts past the deadline.
    maxRetriesPerRequest: 1,
    enableReadyCheck: true,
    // ioredis 6.0.0 defaults to RESP3 but drops `invalidate` push frames, so server-assisted client-side caching
    // only works with RESP2 REDIRECT to a subscriber; RESP2 also keeps pub/sub replies in the documented shape.
    protocol: 2,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
    reconnectOnError: (error: Error) => (/^READONLY/.test(error.message) ? 2 : false),
  };
}

/** The sentinel part of the options of a client that reaches the primary through Sentinel. */
function sentinelOptions(
  target: Extract<ResolvedConnectionOptions['target'], { mode: 'sentinel' }>,
  o: ResolvedConnectionOptions,
) {
  return {
    sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: target.masterName,
    sentinelPassword: target.sentinelPassword,
    sentinelUsername: target.sentinelUsername,
    // ioredis sets no timeout on a sentinel's reply: one that accepts connections but never answers (paused,
    // blackholed after connect) would hold every reconnect forever. Its timer starts before the connection to the
    // sentinel is made, so it covers the connect too: connectTimeoutMs + attemptTimeoutMs, then the next sentinel.
    sentinelCommandTimeout: Math.min(o.connectTimeoutMs + o.attemptTimeoutMs, MAX_TIMER_MS),
  };
}

/**
 * Connects a Sentinel `client` again when ioredis ends it on its own, unless its owner is closing it. ioredis 6.0.0
 * does that to a Sentinel client when a `+switch-master` reaches its failover detector while a reconnect asks a
 * sentinel for the primary: the detector closes the connector mid-resolve, and the reconnect fails "Connection is
 * closed." and sets status 'end' for good (the chaos drill `sentinel-kill-primary`, CI of 2026-12-05: the pub/sub
 * publisher never came back; https://github.com/redis/ioredis/issues/1683). ioredis 6.1.0 fixes it but broke the
 * cluster client's recovery from a full restart in our drills, so we stay on 6.0.0 with this.
 */
function reconnectWhenEnded(client: Redis, closing: () => boolean): Redis {
  // At once (a command sent while the status is 'end' fails "Connection is closed." without being sent, and would be
  // reported as maybe executed); after 100 ms when it ends again before it was ever ready.
  let readySinceEnd = true;
  client.on('ready', () => {
    readySinceEnd = true;
  });
  client.on('end', () => {
    if (closing()) return;
    const timer = setTimeout(
      () => {
        if (!closing() && client.status === 'end') client.connect().catch(() => {});
      },
      readySinceEnd ? 0 : 100,
    );
    readySinceEnd = false;
    timer.unref();
  });
  noFailoverDetectorAfterClose(client, closing);
  return client;
}

/**
 * ioredis 6.0.0 sets up the failover detector (one subscriber connection per sentinel) when the socket to the primary
 * connects, even when disconnect() came first: a client closed while it was still connecting (at start-up, or during a
 * revive above) left three sentinel connections open and the process never exited (close-exits-sentinel.test.ts: 5 of
 * 40 runs hung). Once its owner is closing it, the client's quit/disconnect turn the option off first, so a late
 * connect sets up nothing; a detector already set up is cleaned up by the disconnect, as before.
 */
function noFailoverDetectorAfterClose(client: Redis, closing: () => boolean): void {
  const options = client.options as { failoverDetector?: boolean };
  const quit = client.quit.bind(client);
  const disconnect = client.disconnect.bind(client);
  const off = () => {
    if (closing()) options.failoverDetector = false;
  };
  client.quit = ((...args: Parameters<Redis['quit']>) => {
    off();
    return quit(...args);
  }) as Redis['quit'];
  client.disconnect = (reconnect?: boolean) => {
    off();
    disconnect(reconnect);
  };
}

/** The main client of a connection; `closing` tells when its owner is closing it. */
export function createClient(options: ResolvedConnectionOptions, closing: () => boolean): Client {
  const target = options.target;
  const base = redisOptions(options);
  if (target.mode === 'cluster') {
    const { db: _db, ...nodeOptions } = base;
    return new Cluster(
      target.nodes.map((n) => ({ host: n.host, port: n.port })),
      {
        // FACTS: refresh the slot map every second (a blackholed master is otherwise used for > 15 s). Our own timer
        // (slot-refresh.ts), not ioredis': its timer re-arms after close() and the process never exits (issue 16).
        slotsRefreshInterval: 0,
        slotsRefreshTimeout: options.slotsRefreshTimeoutMs,
        // 0 = ioredis does not retry CLUSTERDOWN itself: our loop does, with backoff, a slot-map refresh per
        // attempt and the operation's deadline, and the caller gets E_CLUSTER_DOWN (not a bare timeout) if it lasts.
        retryDelayOnClusterDown: 0,
        retryDelayOnTryAgain: 100,
        retryDelayOnFailover: 100,
        retryDelayOnMoved: 0,
        maxRedirections: 16,
        clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
        enableOfflineQueue: true,
        // readFrom (default master): ioredis' names for the same choice.
        scaleReads: ({ master: 'master', replicas: 'slave', all: 'all' } as const)[options.readFrom],
        dnsLookup: lookupOrKeep,
        redisOptions: nodeOptions,
      },
    );
  }
  if (target.mode === 'sentinel') {
    const client = new Redis({
      ...base,
      ...sentinelOptions(target, options),
      sentinelRetryStrategy: (times: number) => Math.min(100 * times, 1000),
      failoverDetector: true,
    } as RedisOptions);
    return reconnectWhenEnded(client, closing);
  }
  return new Redis({ ...base, host: target.host, port: target.port });
}

/**
 * A dedicated connection to `node` (a cluster node, the standalone server, or the primary through Sentinel),
 * named `<connectionName>:<suffix>`.
 */
export function createNodeClient(options: ResolvedConnectionOptions, node: NodeRef, suffix: string): Redis {
  const target = options.target;
  const base = redisOptions(options);
  const connectionName = `${options.connectionName}:${suffix}`;
  if (target.mode === 'sentinel') {
    return new Redis({ ...base, ...sentinelOptions(target, options), connectionName } as RedisOptions);
  }
  if (target.mode === 'cluster') {
    const { db: _db, ...rest } = base;
    return new Redis({ ...rest, host: node.host, port: node.port, connectionName });
  }
  return new Redis({ ...base, host: node.host, port: node.port, connectionName });
}

/**
 * A second client beside the main one: a Subscriber's (`sub`: a connection to one node with `node` on a cluster, a
 * cluster client with one sharded subscriber per master with `sharded`, guarded: sharded-subscribers.ts) or the
 * durable writes' (`durable`: SET + WAIT on their own connection). Otherwise a duplicate of the main client, which
 * through Sentinel is connected again when ioredis ends it on its own (reconnectWhenEnded).
 */
export function createDuplicateClient(
  main: Client,
  options: ResolvedConnectionOptions,
  wanted: { readonly sharded?: boolean; readonly node?: NodeRef; readonly suffix: 'sub' | 'durable' },
  closing: () => boolean,
): Client {
  if (wanted.node && main instanceof Cluster) return createNodeClient(options, wanted.node, wanted.suffix);
  // A durable write's WAIT blocks for its own timeout: ioredis' commandTimeout (one attempt's deadline) would cut it.
  // The command loop bounds each durable attempt instead (attempt deadline + the WAIT's timeout).
  const durable = wanted.suffix === 'durable' ? { commandTimeout: undefined } : {};
  if (main instanceof Cluster) {
    const client = main.duplicate(undefined, {
      shardedSubscribers: wanted.sharded ?? false,
      redisOptions: { ...main.options.redisOptions, ...durable },
    });
    if (wanted.sharded) keepShardedSubscribersResettable(client);
    return client;
  }
  const client = main.duplicate({ connectionName: `${options.connectionName}:${wanted.suffix}`, ...durable });
  return options.target.mode === 'sentinel' ? reconnectWhenEnded(client, closing) : client;
}

/** The circuit breaker of a connection (null when turned off); its probe is a PING within one attempt's deadline. */
export function createBreaker(
  client: Client,
  options: ResolvedConnectionOptions,
  clock: Clock,
  onChange: (state: BreakerState, cause: unknown) => void,
  sentinelError: () => Error | undefined,
): CircuitBreaker | null {
  if (!options.circuitBreaker) return null;
  const probe = () =>
    raceClock(client.call('PING'), options.attemptTimeoutMs, clock, () => {
      throw new Error(`Command timed out (breaker probe PING took over ${options.attemptTimeoutMs} ms)`);
    });
  // Through Sentinel the attempts only time out; the reason (NOAUTH from every sentinel, say) is ioredis' last
  // "All sentinels are unreachable" error, which the open breaker's error names too.
  const explain = () => {
    const error = sentinelError();
    return error ? { reason: sentinelReason(error), cause: error } : undefined;
  };
  return new CircuitBreaker(options.circuitBreaker, clock, probe, onChange, explain);
}

/** How long to wait for a connection to be ready: connectTimeoutMs + commandTimeoutMs, within what a Node timer takes. */
export function readyTimeoutMs(options: ResolvedConnectionOptions): number {
  return Math.min(options.connectTimeoutMs + options.commandTimeoutMs, MAX_TIMER_MS);
}
