import { lookup } from 'node:dns';
/**
 * THE ONLY FILE THAT IMPORTS ioredis. It turns resolved options into a standalone, sentinel or cluster client with
 * fault-surviving defaults and implements the narrow RedisCommands interface on top of it, so pattern modules never
 * see ioredis.
 *
 * @see https://github.com/redis/ioredis#cluster for the options tuned here.
 */
import { EventEmitter } from 'node:events';
import { Cluster, Command, type Pipeline, Redis, type RedisOptions } from 'ioredis';
import { AttemptWatchdog } from './attempt-watchdog.ts';
import { runBatch } from './batch.ts';
import { CircuitBreaker } from './breaker.ts';
import type {
  BatchCommand,
  BatchResult,
  CallOptions,
  ConnectionEvents,
  DeploymentMode,
  NodeConnection,
  NodeRef,
  RedisArg,
  RedisCommands,
  Script,
  SetOptions,
  Subscriber,
} from './commands.ts';
import { NodeConnectionHandle, quit, SubscriberHandle } from './connection-handles.ts';
import { type Deps, type DepsOptions, raceClock, resolveDeps } from './deps.ts';
import { isSlotforgeError, SlotforgeError } from './errors.ts';
import { defaultIdempotent } from './idempotency.ts';
import { type ConnectionOptions, type ResolvedConnectionOptions, resolveConnectionOptions } from './options.ts';
import { classifyFailure, toSlotforgeError, withRetry } from './retry.ts';
import { keepShardedSubscribersResettable, watchStrandedReconnect } from './sharded-subscribers.ts';
import { keySlot } from './slot.ts';
import { startSlotRefresh } from './slot-refresh.ts';
import { type StreamHolder, WriteCoalescer } from './write-coalescer.ts';

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

/** The fast path needs a deadline of at least this many attempt timeouts (ioredis may redirect within one). */
const FAST_PATH_MIN_ATTEMPTS = 4;

/** Most keys per DEL/MGET command, so one call never blocks Redis for long. */
const MULTI_KEY_CHUNK = 500;

type Client = Redis | Cluster;

/** Reply as Buffers (getBuffer). */
const BUFFER_REPLY = { replyEncoding: null } as const;
/** Reply as strings (call). */
const STRING_REPLY = { replyEncoding: 'utf8' } as const;

/**
 * A command whose attempt deadline is kept by the AttemptWatchdog instead of a timer of its own. ioredis calls
 * `setTimeout(commandTimeout)` when it sends a command (into the socket or an offline queue) and `transformReply` with
 * its reply: both public methods of Command, overridden here.
 */
class WatchedCommand extends Command {
  readonly #watchdog: AttemptWatchdog;
  #ticket = -1;

  constructor(watchdog: AttemptWatchdog, name: string, args: RedisArg[], buffers = true) {
    super(name, args as (string | Buffer | number)[], buffers ? BUFFER_REPLY : STRING_REPLY);
    this.#watchdog = watchdog;
  }

  override setTimeout(_ms: number): void {
    if (this.#ticket < 0) this.#ticket = this.#watchdog.watch(this);
  }

  override transformReply(result: Buffer | Buffer[]): string | string[] | Buffer | Buffer[] {
    this.#watchdog.done(this, this.#ticket);
    return super.transformReply(result);
  }
}

/** Opens a connection. Resolves options, validates them (E_INVALID_OPTION) and returns the command interface. */
export function connect(options: ConnectionOptions = {}, deps: DepsOptions = {}): RedisCommands {
  return new IoredisCommands(resolveConnectionOptions(options), resolveDeps(deps));
}

/** @internal The ioredis-backed implementation of RedisCommands. */
class IoredisCommands implements RedisCommands {
  readonly mode: DeploymentMode;
  readonly commandTimeoutMs: number;
  readonly #options: ResolvedConnectionOptions;
  readonly #deps: Deps;
  readonly #client: Client;
  readonly #events = new EventEmitter();
  readonly #opened = new Set<{ close(): Promise<void> }>();
  #connected = false;
  #closed = false;
  #masterIds = '';
  #durable: Client | undefined;
  /** Null when coalesceWrites is off. */
  readonly #coalescer: WriteCoalescer | null;
  /** The connections commands go to (cluster: every master), for the coalescer; reset when the topology changes. */
  #holders: readonly StreamHolder[] | undefined;
  /** Attempt deadlines of the hot path's commands (GET), without a timer per command. */
  readonly #watchdog: AttemptWatchdog;
  /** Null when turned off. Fed with every attempt's outcome (#retry). */
  readonly breaker: CircuitBreaker | null;
  /** Sentinel mode: ioredis' last "All sentinels are unreachable" error since the connection was last ready. */
  #sentinelError: Error | undefined;
  /** Stops the periodic slot-map refreshes (main and durable cluster clients); run by close(). */
  readonly #stopRefresh: (() => void)[] = [];

  constructor(options: ResolvedConnectionOptions, deps: Deps) {
    this.#options = options;
    this.#deps = deps;
    this.mode = options.target.mode;
    this.commandTimeoutMs = options.commandTimeoutMs;
    this.#events.setMaxListeners(0);
    this.#client = this.#create();
    this.#coalescer = options.coalesceWrites ? new WriteCoalescer(() => this.#streamHolders()) : null;
    this.#watchdog = new AttemptWatchdog(options.attemptTimeoutMs);
    this.#refreshPeriodically(this.#client);
    this.breaker = options.circuitBreaker && this.#createBreaker(options.circuitBreaker);
    this.#wire();
  }

  #createBreaker(options: NonNullable<ResolvedConnectionOptions['circuitBreaker']>): CircuitBreaker {
    const clock = this.#deps.clock;
    const probe = () =>
      raceClock(this.#client.call('PING'), this.#options.attemptTimeoutMs, clock, () => {
        throw new Error(`Command timed out (breaker probe PING took over ${this.#options.attemptTimeoutMs} ms)`);
      });
    return new CircuitBreaker(options, clock, probe, (state, cause) => this.#events.emit('breaker', state, cause));
  }

  /** Passes a reply through, telling the breaker Redis answered (the fast path's success handler). */
  readonly #answered = <T>(reply: T): T => {
    this.breaker?.success();
    return reply;
  };

  #refreshPeriodically(client: Client): () => void {
    if (!(client instanceof Cluster)) return () => {};
    const stop = startSlotRefresh(client, this.#options.slotsRefreshIntervalMs);
    this.#stopRefresh.push(stop);
    return stop;
  }

  #streamHolders(): readonly StreamHolder[] {
    const client = this.#client;
    // Cached: nodes() builds a new array; '+node', '-node' and 'refresh' reset it.
    this.#holders ??= client instanceof Cluster ? client.nodes('master') : [client];
    return this.#holders;
  }

  #redisOptions(): RedisOptions {
    const o = this.#options;
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

  #create(): Client {
    const target = this.#options.target;
    const base = this.#redisOptions();
    if (target.mode === 'cluster') {
      const { db: _db, ...redisOptions } = base;
      return new Cluster(
        target.nodes.map((n) => ({ host: n.host, port: n.port })),
        {
          // FACTS: refresh the slot map every second (a blackholed master is otherwise used for > 15 s). Our own timer
          // (slot-refresh.ts), not ioredis': its timer re-arms after close() and the process never exits (issue 16).
          slotsRefreshInterval: 0,
          slotsRefreshTimeout: this.#options.slotsRefreshTimeoutMs,
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
          scaleReads: ({ master: 'master', replicas: 'slave', all: 'all' } as const)[this.#options.readFrom],
          dnsLookup: lookupOrKeep,
          redisOptions,
        },
      );
    }
    if (target.mode === 'sentinel') {
      return new Redis({
        ...base,
        sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: target.masterName,
        sentinelPassword: target.sentinelPassword,
        sentinelUsername: target.sentinelUsername,
        sentinelRetryStrategy: (times: number) => Math.min(100 * times, 1000),
        failoverDetector: true,
      } as RedisOptions);
    }
    return new Redis({ ...base, host: target.host, port: target.port });
  }

  #wire(): void {
    const client = this.#client;
    client.on('ready', () => {
      this.#sentinelError = undefined;
      if (this.#connected) this.#events.emit('reconnect');
      this.#connected = true;
      this.#events.emit('ready');
      this.#checkTopology();
    });
    client.on('error', (error: Error) => {
      if (this.mode === 'sentinel' && SENTINELS_UNREACHABLE.test(error.message)) this.#sentinelError = error;
      this.#events.emit('error', error);
    });
    if (client instanceof Cluster) {
      client.on('node error', (error: Error, node: string) => this.#events.emit('error', error, node));
      client.on('-node', (_redis: Redis, node: string) => {
        this.#holders = undefined;
        this.#events.emit('reconnect', node);
      });
      client.on('+node', () => {
        this.#holders = undefined;
      });
      client.on('refresh', () => {
        this.#holders = undefined;
        this.#checkTopology();
      });
    } else {
      client.on('close', () => {
        if (this.#connected && !this.#closed) this.#events.emit('reconnect');
      });
    }
  }

  #checkTopology(): void {
    const masters = this.masters();
    const ids = masters
      .map((m) => m.id)
      .sort()
      .join(',');
    if (ids !== this.#masterIds) {
      const first = this.#masterIds === '';
      this.#masterIds = ids;
      if (!first) this.#events.emit('topology', masters);
    }
  }

  #idempotent(command: string, options?: CallOptions): boolean {
    return options?.idempotent ?? defaultIdempotent(command);
  }

  /** Runs `attempt` in the retry loop with this connection's policy. */
  #retry<T>(
    command: string,
    key: string | undefined,
    idempotent: boolean,
    options: CallOptions | undefined,
    attempt: () => Promise<T>,
  ): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new SlotforgeError('E_CLOSED', `${command} called after close()`, { command, key }));
    }
    const timeoutMs = options?.timeoutMs ?? this.commandTimeoutMs;
    const failFast = options?.failFast === true && this.breaker !== null;
    if (failFast && this.breaker?.state !== 'closed') return Promise.reject(this.breaker?.openError(command, key));
    // Fast path (the hot path of every cache hit): on a ready connection ioredis' commandTimeout already bounds the
    // first attempt (it is armed in sendCommand, queued or not), so it runs without our timer and async loop; a
    // failure continues in the loop with the time left. Only when the deadline leaves room for several attempts.
    if (this.#client.status === 'ready' && timeoutMs >= FAST_PATH_MIN_ATTEMPTS * this.#options.attemptTimeoutMs) {
      const startedAt = this.#deps.clock.now();
      this.#coalescer?.hold();
      let sent: Promise<T>;
      try {
        sent = attempt();
      } catch (error) {
        sent = Promise.reject(error);
      }
      return sent.then(this.#answered, (error: unknown) => {
        this.breaker?.failure(error);
        if (failFast && this.breaker?.state !== 'closed') throw this.breaker?.openError(command, key);
        const kind = classifyFailure(error);
        if (kind === 'fatal' || (kind === 'ambiguous' && !idempotent))
          throw toSlotforgeError(error, { command, key, timeoutMs }, 1);
        this.#onRetry(error);
        return this.#loop(command, key, idempotent, timeoutMs, attempt, failFast, {
          startedAt,
          priorAttempts: 1,
          priorError: error,
        });
      });
    }
    return this.#loop(command, key, idempotent, timeoutMs, attempt, failFast, {});
  }

  #loop<T>(
    command: string,
    key: string | undefined,
    idempotent: boolean,
    timeoutMs: number,
    attempt: () => Promise<T>,
    failFast: boolean,
    prior: { startedAt?: number; priorAttempts?: number; priorError?: unknown },
  ): Promise<T> {
    const breaker = this.breaker;
    // Every attempt feeds the breaker; a failFast call stops (E_CIRCUIT_OPEN, not retried) once it is open.
    const observed = breaker
      ? () => {
          if (failFast && breaker.state !== 'closed') return Promise.reject(breaker.openError(command, key));
          return attempt().then(this.#answered, (error: unknown) => {
            breaker.failure(error);
            throw failFast && breaker.state !== 'closed' ? breaker.openError(command, key) : error;
          });
        }
      : attempt;
    const retried = withRetry(observed, {
      ...prior,
      command,
      key,
      idempotent,
      timeoutMs,
      // Twice ioredis' commandTimeout: covers a command that waited in an offline queue (where commandTimeout does
      // not run) without letting one stuck attempt eat the whole deadline.
      attemptTimeoutMs: this.#options.attemptTimeoutMs * 2,
      baseDelayMs: this.#options.retryBaseDelayMs,
      maxDelayMs: this.#options.retryMaxDelayMs,
      clock: this.#deps.clock,
      random: this.#deps.random,
      onRetry: (error) => this.#onRetry(error),
    });
    return this.mode === 'sentinel' ? retried.catch((error: unknown) => this.#explain(error)) : retried;
  }

  /**
   * Through Sentinel, a command that times out while no sentinel answers (wrong sentinel password: NOAUTH from each)
   * says nothing by itself; the reason is in ioredis' "All sentinels are unreachable ... Last error: ..." error
   * event. Put it in the error the caller gets (E_CONNECTION, that event's error as cause).
   */
  #explain(error: unknown): never {
    const sentinelError = this.#sentinelError;
    if (!sentinelError || !isSlotforgeError(error) || (error.code !== 'E_TIMEOUT' && error.code !== 'E_CONNECTION'))
      throw error;
    throw new SlotforgeError(
      'E_CONNECTION',
      `${error.command ?? 'command'}${error.key ? ` '${error.key}'` : ''} failed: ${sentinelReason(sentinelError)}`,
      {
        key: error.key,
        command: error.command,
        timeoutMs: error.timeoutMs,
        attempts: error.attempts,
        cause: sentinelError,
      },
    );
  }

  #onRetry(error: unknown): void {
    // FACTS: a timed-out or refused attempt may mean a dead or blackholed master: refresh the slot map now rather
    // than waiting for the interval. ioredis coalesces concurrent refreshes.
    if (this.#client instanceof Cluster && classifyFailure(error) !== 'fatal') this.#client.refreshSlotsCache();
  }

  get(key: string, options?: CallOptions): Promise<Buffer | null> {
    // Not async: the hot path of every cache hit, one promise layer less.
    // getBuffer(key), with the attempt deadline kept by the watchdog (see WatchedCommand).
    return this.#retry(
      'GET',
      key,
      true,
      options,
      () => this.#client.sendCommand(new WatchedCommand(this.#watchdog, 'get', [key])) as Promise<Buffer | null>,
    );
  }

  async set(key: string, value: RedisArg, options: SetOptions = {}): Promise<boolean> {
    const args: RedisArg[] = [key, value];
    if (options.ttlMs !== undefined) args.push('PX', Math.max(1, Math.ceil(options.ttlMs)));
    if (options.nx) args.push('NX');
    if (options.xx) args.push('XX');
    // SET with NX/XX is not idempotent: a retried NX after an ambiguous success reports false.
    const idempotent = options.idempotent ?? !(options.nx || options.xx);
    const waitReplicas = options.waitReplicas ?? 0;
    if (waitReplicas <= 0) {
      const reply = await this.#retry('SET', key, idempotent, options, () => this.#send('set', args, false));
      return reply === 'OK';
    }
    const waitTimeoutMs = options.waitTimeoutMs ?? 1000;
    const replies = await this.#retry('SET', key, idempotent, options, async () => {
      // SET and WAIT must reach the same node on the same connection (WAIT counts that connection's writes), and WAIT
      // blocks its connection for up to waitTimeoutMs when replicas are missing (e.g. right after a failover): durable
      // writes therefore use their own connections, so they never hold up other commands.
      const results = await this.#durableClient()
        .pipeline()
        .call('SET', args)
        .call('WAIT', waitReplicas, waitTimeoutMs)
        .exec();
      const [setResult, waitResult] = results ?? [];
      if (setResult?.[0]) throw setResult[0];
      if (waitResult?.[0]) throw waitResult[0];
      return [setResult?.[1], waitResult?.[1]] as const;
    });
    if (replies[0] !== 'OK') return false;
    const acked = Number(replies[1]);
    if (acked < waitReplicas) {
      throw new SlotforgeError(
        'E_TIMEOUT',
        `SET '${key}' reached ${acked} of ${waitReplicas} replica(s) within ${waitTimeoutMs} ms; it may be lost in a failover`,
        { key, timeoutMs: waitTimeoutMs, command: 'WAIT', received: acked },
      );
    }
    return true;
  }

  #durableClient(): Client {
    if (!this.#durable) {
      const client = this.#client;
      this.#durable =
        client instanceof Cluster
          ? client.duplicate()
          : client.duplicate({ connectionName: `${this.#options.connectionName}:durable` });
      this.#durable.on('error', (error: Error) => this.#events.emit('error', error));
      this.#refreshPeriodically(this.#durable);
    }
    return this.#durable;
  }

  async del(keys: readonly string[], options?: CallOptions): Promise<number> {
    if (keys.length === 0) return 0;
    const results = await this.batch(this.#perSlot('DEL', keys), { idempotent: true, ...options });
    let deleted = 0;
    for (const result of results) {
      if (!result.ok) throw result.error;
      deleted += Number(result.value);
    }
    return deleted;
  }

  async mget(keys: readonly string[], options?: CallOptions): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return [];
    const commands = this.#perSlot('MGET', keys);
    const results = await this.batch(commands, { idempotent: true, buffers: true, ...options });
    const byKey = new Map<string, Buffer | null>();
    results.forEach((result, i) => {
      if (!result.ok) throw result.error;
      const cmdKeys = (commands[i] as BatchCommand).args as string[];
      const values = result.value as (Buffer | null)[];
      cmdKeys.forEach((k, j) => {
        byKey.set(k, values[j] ?? null);
      });
    });
    return keys.map((k) => byKey.get(k) ?? null);
  }

  /** One command per slot (chunked), so no command ever spans slots. */
  #perSlot(command: string, keys: readonly string[]): BatchCommand[] {
    const bySlot = new Map<number, string[]>();
    for (const key of new Set(keys)) {
      const slot = this.mode === 'cluster' ? keySlot(key) : 0;
      const group = bySlot.get(slot);
      if (group) group.push(key);
      else bySlot.set(slot, [key]);
    }
    const commands: BatchCommand[] = [];
    for (const group of bySlot.values()) {
      for (let i = 0; i < group.length; i += MULTI_KEY_CHUNK) {
        const chunk = group.slice(i, i + MULTI_KEY_CHUNK);
        commands.push({ command, args: chunk, key: chunk[0] as string });
      }
    }
    return commands;
  }

  async call(command: string, args: readonly RedisArg[], options?: CallOptions): Promise<unknown> {
    const key = args[0] === undefined ? undefined : String(args[0]);
    return this.#retry(command.toUpperCase(), key, this.#idempotent(command, options), options, () =>
      this.#send(command, [...args], options?.buffers === true),
    );
  }

  /**
   * Sends one command whose attempt deadline is kept by the shared watchdog (WatchedCommand): ioredis' `call` arms a
   * commandTimeout timer per command, a cost that grows with the machine's load (bench rows of SET and scripts).
   */
  #send(name: string, args: RedisArg[], buffers: boolean): Promise<unknown> {
    return this.#client.sendCommand(new WatchedCommand(this.#watchdog, name, args, buffers)) as Promise<unknown>;
  }

  async eval(
    script: Script,
    keys: readonly string[],
    args: readonly RedisArg[],
    options?: CallOptions,
  ): Promise<unknown> {
    const idempotent = options?.idempotent ?? script.idempotent;
    const buffers = options?.buffers === true;
    const send = (cmd: 'evalsha' | 'eval', body: string) =>
      this.#send(cmd, [body, keys.length, ...keys, ...args], buffers);
    return this.#retry(`EVAL ${script.name}`, keys[0], idempotent, options, () =>
      send('evalsha', script.sha).catch((error: unknown) => {
        // NOSCRIPT: the node never saw it (new master after a failover, SCRIPT FLUSH). EVAL loads and runs it; the
        // EVALSHA did not run, so this is not a double execution.
        if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return send('eval', script.lua);
        throw error;
      }),
    );
  }

  async batch(commands: readonly BatchCommand[], options?: CallOptions): Promise<BatchResult[]> {
    if (commands.length === 0) return [];
    const timeoutMs = options?.timeoutMs ?? this.commandTimeoutMs;
    await this.#slotMapReady(timeoutMs);
    return runBatch(commands, options, timeoutMs, {
      nodeOf: (key) => this.#nodeIdOfKey(key),
      exec: (group, buffers) => {
        const coalescer = this.#coalescer;
        if (coalescer) {
          // The group's commands leave in one write per node (corked until the end of this tick), as a pipeline
          // would, without ioredis' Pipeline (its promise bookkeeping and a slot check per command) and with the
          // attempt deadline kept by the watchdog (WatchedCommand) instead of a timer per command (issue 16 bench).
          coalescer.hold(true);
          return Promise.all(group.map((c) => this.#send(c.command, [...c.args], buffers).then(replyOk, replyError)));
        }
        // Watched commands here too: ioredis arms commandTimeout for every command of a pipeline otherwise.
        const pipeline = this.#client.pipeline() as unknown as Pipeline;
        for (const c of group)
          pipeline.sendCommand(new WatchedCommand(this.#watchdog, c.command, [...c.args], buffers));
        return pipeline.exec();
      },
      idempotent: (command) => this.#idempotent(command, options),
      onRetry: (error) => {
        this.breaker?.failure(error);
        this.#onRetry(error);
      },
      closed: () => this.#closed,
      attemptTimeoutMs: this.#options.attemptTimeoutMs * 2,
      retryBaseDelayMs: this.#options.retryBaseDelayMs,
      retryMaxDelayMs: this.#options.retryMaxDelayMs,
      clock: this.#deps.clock,
      random: this.#deps.random,
    });
  }

  /**
   * Per-node routing needs the slot map, which a cluster client only has once ready; before that (first call after
   * connect, or while reconnecting) wait for it within the operation's deadline.
   */
  async #slotMapReady(timeoutMs: number): Promise<void> {
    if (this.#closed) throw new SlotforgeError('E_CLOSED', 'called after close()');
    if (!(this.#client instanceof Cluster) || this.#client.slots.length > 0) return;
    await this.#waitReady(this.#client, timeoutMs);
  }

  /** The master serving `key` now: slot map lookup on a cluster, the one node elsewhere. */
  #nodeIdOfKey(key: string): string {
    if (!(this.#client instanceof Cluster)) return 'main';
    return this.#client.slots[keySlot(key)]?.[0] ?? 'unknown';
  }

  groupByNode(keys: readonly string[]): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const key of keys) {
      const node = this.#nodeIdOfKey(key);
      const group = groups.get(node);
      if (group) group.push(key);
      else groups.set(node, [key]);
    }
    return groups;
  }

  masters(): NodeRef[] {
    const client = this.#client;
    if (client instanceof Cluster) {
      const ids = new Set<string>();
      for (const owners of client.slots) if (owners?.[0]) ids.add(owners[0]);
      if (ids.size === 0)
        for (const node of client.nodes('master')) ids.add(`${node.options.host}:${node.options.port}`);
      return [...ids].sort().map(nodeRef);
    }
    const target = this.#options.target;
    if (target.mode === 'sentinel') return [{ id: `sentinel:${target.masterName}`, host: '', port: 0 }];
    if (target.mode === 'standalone')
      return [{ id: `${target.host}:${target.port}`, host: target.host, port: target.port }];
    return [];
  }

  #nodeClient(node: NodeRef): Redis {
    const client = this.#client;
    if (!(client instanceof Cluster)) return client;
    const found = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === node.id);
    if (!found) {
      throw new SlotforgeError('E_CLUSTER_DOWN', `node ${node.id} is not a master of the cluster now`, {
        received: node.id,
      });
    }
    return found;
  }

  async callNode(node: NodeRef, command: string, args: readonly RedisArg[], options?: CallOptions): Promise<unknown> {
    await this.#slotMapReady(options?.timeoutMs ?? this.commandTimeoutMs);
    return this.#retry(command.toUpperCase(), undefined, this.#idempotent(command, options), options, async () => {
      const client = this.#nodeClient(node);
      return options?.buffers ? client.callBuffer(command, [...args]) : client.call(command, [...args]);
    });
  }

  async *scan(
    pattern: string,
    options: { readonly count?: number; readonly type?: string } = {},
  ): AsyncIterable<string[]> {
    const count = options.count ?? 500;
    await this.#slotMapReady(this.commandTimeoutMs);
    for (const node of this.masters()) {
      let cursor = '0';
      do {
        const args: RedisArg[] = [cursor, 'MATCH', pattern, 'COUNT', count];
        if (options.type) args.push('TYPE', options.type);
        const reply = (await this.callNode(node, 'SCAN', args)) as [string, string[]];
        cursor = reply[0];
        if (reply[1].length > 0) yield reply[1];
      } while (cursor !== '0');
    }
  }

  #standaloneOptions(node: NodeRef): RedisOptions {
    const target = this.#options.target;
    const base = this.#redisOptions();
    if (target.mode === 'sentinel') {
      return {
        ...base,
        sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: target.masterName,
        sentinelPassword: target.sentinelPassword,
        sentinelUsername: target.sentinelUsername,
      } as RedisOptions;
    }
    if (target.mode === 'cluster') {
      const { db: _db, ...rest } = base;
      return { ...rest, host: node.host, port: node.port };
    }
    return { ...base, host: node.host, port: node.port };
  }

  async connectNode(node: NodeRef): Promise<NodeConnection> {
    const redis = new Redis({
      ...this.#standaloneOptions(node),
      connectionName: `${this.#options.connectionName}:node`,
    });
    redis.on('error', (error: Error) => this.#events.emit('error', error, node.id));
    const connection = new NodeConnectionHandle(node, redis, (command, idempotent, options, attempt) =>
      this.#retry(command, undefined, idempotent, options, attempt),
    );
    this.#track(connection);
    await this.#waitReady(redis, this.#options.connectTimeoutMs + this.#options.commandTimeoutMs);
    return connection;
  }

  duplicate(options: { readonly sharded?: boolean; readonly node?: NodeRef } = {}): Subscriber {
    let client: Client;
    if (options.node && this.#client instanceof Cluster) {
      client = new Redis({
        ...this.#standaloneOptions(options.node),
        connectionName: `${this.#options.connectionName}:sub`,
      });
    } else if (this.#client instanceof Cluster) {
      client = this.#client.duplicate(undefined, { shardedSubscribers: options.sharded ?? false });
      if (options.sharded) keepShardedSubscribersResettable(client);
    } else {
      client = this.#client.duplicate({ connectionName: `${this.#options.connectionName}:sub` });
    }
    const subscriber = new SubscriberHandle(client, client instanceof Cluster);
    // A sharded subscriber follows the slot map (resubscribes on the new owner after a failover).
    subscriber.onClosed(this.#refreshPeriodically(client));
    if (options.sharded && client instanceof Cluster) {
      subscriber.onClosed(watchStrandedReconnect(client, this.#options.slotsRefreshIntervalMs));
    }
    this.#track(subscriber);
    return subscriber;
  }

  #track(resource: { close(): Promise<void>; onClosed?: (fn: () => void) => void }): void {
    this.#opened.add(resource);
    resource.onClosed?.(() => this.#opened.delete(resource));
  }

  async time(key?: string): Promise<number> {
    await this.#slotMapReady(this.commandTimeoutMs);
    const node = key === undefined || this.mode !== 'cluster' ? this.masters()[0] : nodeRef(this.#nodeIdOfKey(key));
    const reply = (await (node && this.mode === 'cluster'
      ? this.callNode(node, 'TIME', [])
      : this.call('TIME', []))) as [string, string];
    return Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.#events.on(event, listener);
    return this;
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.#events.off(event, listener);
    return this;
  }

  async ready(timeoutMs = this.#options.connectTimeoutMs + this.commandTimeoutMs): Promise<void> {
    await this.#waitReady(this.#client, timeoutMs);
  }

  async #waitReady(client: Client, timeoutMs: number): Promise<void> {
    if (client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = this.#deps.clock.setTimeout(() => {
        client.off('ready', onReady);
        const sentinelError = client === this.#client ? this.#sentinelError : undefined;
        const why = sentinelError ? `: ${sentinelReason(sentinelError)}` : '';
        reject(
          new SlotforgeError(
            'E_CONNECTION',
            `Redis was not ready within ${timeoutMs} ms (status ${client.status})${why}`,
            { timeoutMs, ...(sentinelError ? { cause: sentinelError } : {}) },
          ),
        );
      }, timeoutMs);
      const onReady = () => {
        this.#deps.clock.clearTimeout(timer);
        resolve();
      };
      client.once('ready', onReady);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchdog.stop();
    for (const stop of this.#stopRefresh.splice(0)) stop();
    this.breaker?.stop();
    await Promise.allSettled([...this.#opened].map((r) => r.close()));
    this.#opened.clear();
    if (this.#durable) await quit(this.#durable, this.#options.connectTimeoutMs, this.#deps.clock);
    await quit(this.#client, this.#options.connectTimeoutMs, this.#deps.clock);
  }
}

/** A batch reply in ioredis' pipeline shape. */
function replyOk(value: unknown): [null, unknown] {
  return [null, value];
}

function replyError(error: Error): [Error, undefined] {
  return [error, undefined];
}

/** ioredis' error when no sentinel gave the primary's address. */
const SENTINELS_UNREACHABLE = /All sentinels are unreachable/;

/** "all sentinels unreachable: <the last sentinel's error>" from ioredis' error. */
function sentinelReason(error: Error): string {
  const last = /Last error: (.*)$/.exec(error.message)?.[1];
  return `all sentinels unreachable: ${last ?? error.message}`;
}

function nodeRef(id: string): NodeRef {
  const colon = id.lastIndexOf(':');
  return { id, host: id.slice(0, colon), port: Number(id.slice(colon + 1)) };
}
