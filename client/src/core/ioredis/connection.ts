/**
 * THE ioredis-backed implementation of RedisCommands: the narrow command interface pattern modules depend on, so they
 * never see ioredis. Construction is in create.ts, the retry loop in command-loop.ts, routing in routing.ts.
 *
 * @see https://github.com/redis/ioredis#cluster for the options tuned here.
 */
import { EventEmitter } from 'node:events';
import { Cluster, Redis } from 'ioredis';
import { AttemptWatchdog } from '../attempt-watchdog.ts';
import { runBatch } from '../batch.ts';
import type { BreakerState, CircuitBreaker } from '../breaker.ts';
import type * as Api from '../commands.ts';
import { NodeConnectionHandle, quit, SubscriberHandle } from '../connection-handles.ts';
import { type Deps, type DepsOptions, resolveDeps } from '../deps.ts';
import { SlotforgeError } from '../errors.ts';
import { defaultIdempotent } from '../idempotency.ts';
import type { ConnectionOptions, ResolvedConnectionOptions } from '../options.ts';
import { resolveConnectionOptions } from '../resolve-options.ts';
import { keySlot } from '../slot.ts';
import { type StreamHolder, WriteCoalescer } from '../write-coalescer.ts';
import { execGroup } from './batch-exec.ts';
import { type AttemptPolicy, CommandLoop } from './command-loop.ts';
import {
  type Client,
  createBreaker,
  createClient,
  createDuplicateClient,
  createNodeClient,
  readyTimeoutMs,
} from './create.ts';
import { sendToSlot } from './direct.ts';
import { durableAttempt } from './durable.ts';
import {
  atPositions,
  deletedCount,
  groupByNode,
  masterIds,
  masters,
  nodeClient,
  nodeIdOfCommand,
  nodeIdOfKey,
  nodeRef,
  perSlot,
  scanNodes,
} from './routing.ts';
import { SentinelErrors } from './sentinel-errors.ts';
import { watchShardedSubscriber } from './sharded-subscribers.ts';
import { startSlotRefresh } from './slot-refresh.ts';
import { waitReady } from './wait-ready.ts';
import { WatchedCommand } from './watched-command.ts';

/** Single commands on the main client with their own attempt deadline (WatchedCommand): the loop's fast path. */
const BOUNDED: AttemptPolicy = { bounded: true };

/** Opens a connection. Resolves options, validates them (E_INVALID_OPTION) and returns the command interface. */
export function connect(options: ConnectionOptions = {}, deps: DepsOptions = {}): Api.RedisCommands {
  return new IoredisCommands(resolveConnectionOptions(options), resolveDeps(deps));
}

/** @internal The ioredis-backed implementation of RedisCommands. */
class IoredisCommands implements Api.RedisCommands {
  readonly mode: Api.DeploymentMode;
  readonly commandTimeoutMs: number;
  readonly #options: ResolvedConnectionOptions;
  readonly #deps: Deps;
  readonly #client: Client;
  readonly #events = new EventEmitter();
  readonly #opened = new Set<{ close(): Promise<void> }>();
  #connected = false;
  /** From the start of close() (new calls refused); #closed once it has drained the running calls and QUITs. */
  #closing: Promise<void> | undefined;
  #closed = false;
  #masterIds = '';
  #durable: Client | undefined;
  /** Null when coalesceWrites is off. */
  readonly #coalescer: WriteCoalescer | null;
  /** The connections commands go to (cluster: every master), for the coalescer; reset when the topology changes. */
  #holders: readonly StreamHolder[] | undefined;
  /** Attempt deadlines of the hot path's commands (GET), without a timer per command. */
  readonly #watchdog: AttemptWatchdog;
  /** Null when turned off. Fed with every attempt's outcome (the command loop). */
  readonly breaker: CircuitBreaker | null;
  /** Sentinel mode: what the sentinels said while the main client could not find its primary. */
  readonly #sentinel: SentinelErrors | undefined;
  /** Stops the periodic slot-map refreshes (main and durable cluster clients); run by close(). */
  readonly #stopRefresh: (() => void)[] = [];
  /** Every call's attempts (command-loop.ts). */
  readonly #loop: CommandLoop;
  /** GETs and a batch's commands may go straight to their node's connection (cluster, reads from masters). */
  readonly #direct: boolean;

  constructor(options: ResolvedConnectionOptions, deps: Deps) {
    this.#options = options;
    this.#deps = deps;
    this.mode = options.target.mode;
    this.commandTimeoutMs = options.commandTimeoutMs;
    this.#events.setMaxListeners(0);
    this.#client = createClient(options, () => this.#closed);
    this.#direct = this.#client instanceof Cluster && options.readFrom === 'master';
    this.#coalescer = options.coalesceWrites ? new WriteCoalescer(() => this.#streamHolders()) : null;
    this.#watchdog = new AttemptWatchdog(options.attemptTimeoutMs);
    this.#refreshPeriodically(this.#client);
    const onBreaker = (state: BreakerState, cause: unknown) => this.#events.emit('breaker', state, cause);
    this.#sentinel =
      this.#client instanceof Redis && options.target.mode === 'sentinel'
        ? new SentinelErrors(this.#client)
        : undefined;
    this.breaker = createBreaker(this.#client, options, deps.clock, onBreaker, () => this.#sentinel?.last);
    this.#loop = new CommandLoop({
      client: this.#client,
      options,
      deps,
      breaker: this.breaker,
      coalescer: this.#coalescer,
      closing: () => this.#closing !== undefined,
      closed: () => this.#closed,
      sentinel: this.#sentinel,
    });
    this.#wire();
  }

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

  #wire(): void {
    const client = this.#client;
    client.on('ready', () => {
      if (this.#connected) this.#events.emit('reconnect');
      this.#connected = true;
      this.#events.emit('ready');
      this.#checkTopology();
    });
    client.on('error', (error: Error) => this.#events.emit('error', error));
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
    const ids = masterIds(masters);
    if (ids === this.#masterIds) return;
    const first = this.#masterIds === '';
    this.#masterIds = ids;
    if (!first) this.#events.emit('topology', masters);
  }

  #idempotent(command: string, options?: Api.CallOptions): boolean {
    return options?.idempotent ?? defaultIdempotent(command);
  }

  get(key: string, options?: Api.CallOptions): Promise<Buffer | null> {
    // Not async (the hot path): GET with the watchdog's attempt deadline, straight to the master if open (direct.ts).
    const watched = () => new WatchedCommand(this.#watchdog, 'get', [key]);
    const attempt = this.#direct
      ? () => sendToSlot(this.#client, keySlot(key), watched(), watched)
      : () => this.#client.sendCommand(watched()) as Promise<unknown>;
    return this.#loop.run('GET', key, true, options, attempt, BOUNDED) as Promise<Buffer | null>;
  }

  async set(key: string, value: Api.RedisArg, options: Api.SetOptions = {}): Promise<boolean> {
    const args: Api.RedisArg[] = [key, value];
    if (options.ttlMs !== undefined) args.push('PX', Math.max(1, Math.ceil(options.ttlMs)));
    if (options.nx) args.push('NX');
    if (options.xx) args.push('XX');
    // SET with NX/XX is not idempotent: a retried NX after an ambiguous success reports false.
    const idempotent = options.idempotent ?? !(options.nx || options.xx);
    const waitReplicas = options.waitReplicas ?? 0;
    if (waitReplicas <= 0) {
      const send = () => this.#send('set', args, false);
      return (await this.#loop.run('SET', key, idempotent, options, send, BOUNDED)) === 'OK';
    }
    const waitTimeoutMs = options.waitTimeoutMs ?? 1000;
    // An attempt may take the WAIT's own timeout on top of a normal attempt's; too few replicas fail it (durable.ts).
    const policy = { attemptTimeoutMs: this.#options.attemptTimeoutMs * 2 + waitTimeoutMs };
    const attempt = durableAttempt(() => this.#durableClient(), key, args, waitReplicas, waitTimeoutMs);
    return this.#loop.run('SET', key, idempotent, options, attempt, policy);
  }

  #durableClient(): Client {
    if (!this.#durable) {
      this.#durable = createDuplicateClient(this.#client, this.#options, { suffix: 'durable' }, () => this.#closed);
      this.#durable.on('error', (error: Error) => this.#events.emit('error', error));
      this.#refreshPeriodically(this.#durable);
    }
    return this.#durable;
  }

  async del(keys: readonly string[], options?: Api.CallOptions): Promise<number> {
    if (keys.length === 0) return 0;
    const { commands } = perSlot('DEL', keys, this.mode === 'cluster');
    return deletedCount(await this.batch(commands, { idempotent: true, ...options }));
  }

  async mget(keys: readonly string[], options?: Api.CallOptions): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return [];
    const { commands, at } = perSlot('MGET', keys, this.mode === 'cluster');
    return atPositions(keys.length, at, await this.batch(commands, { idempotent: true, buffers: true, ...options }));
  }

  async call(command: string, args: readonly Api.RedisArg[], options?: Api.CallOptions): Promise<unknown> {
    const key = args[0] === undefined ? undefined : String(args[0]);
    const send = () => this.#send(command, [...args], options?.buffers === true);
    return this.#loop.run(command.toUpperCase(), key, this.#idempotent(command, options), options, send, BOUNDED);
  }

  /** One command, its attempt deadline kept by the shared watchdog (WatchedCommand), not a timer per command. */
  #send(name: string, args: Api.RedisArg[], buffers: boolean): Promise<unknown> {
    return this.#client.sendCommand(new WatchedCommand(this.#watchdog, name, args, buffers)) as Promise<unknown>;
  }

  async eval(
    script: Api.Script,
    keys: readonly string[],
    args: readonly Api.RedisArg[],
    options?: Api.CallOptions,
  ): Promise<unknown> {
    const idempotent = options?.idempotent ?? script.idempotent;
    const buffers = options?.buffers === true;
    const send = (cmd: 'evalsha' | 'eval', body: string) =>
      this.#send(cmd, [body, keys.length, ...keys, ...args], buffers);
    const attempt = () =>
      send('evalsha', script.sha).catch((error: unknown) => {
        // NOSCRIPT: the node never saw it (new master after a failover, SCRIPT FLUSH). EVAL loads and runs it; the
        // EVALSHA did not run, so this is not a double execution.
        if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return send('eval', script.lua);
        throw error;
      });
    return this.#loop.run(`EVAL ${script.name}`, keys[0], idempotent, options, attempt, BOUNDED);
  }

  batch(commands: readonly Api.BatchCommand[], options?: Api.CallOptions): Promise<Api.BatchResult[]> {
    if (commands.length === 0) return Promise.resolve([]);
    return this.#loop.track(this.#batch(commands, options));
  }

  async #batch(commands: readonly Api.BatchCommand[], options?: Api.CallOptions): Promise<Api.BatchResult[]> {
    const timeoutMs = options?.timeoutMs ?? this.commandTimeoutMs;
    await this.#slotMapReady(timeoutMs);
    return runBatch(commands, options, timeoutMs, {
      nodeOf: (command) => nodeIdOfCommand(this.#client, command),
      exec: (node, group, buffers) =>
        execGroup(this.#client, this.#coalescer, this.#watchdog, { node, group, buffers, direct: this.#direct }),
      idempotent: (command) => this.#idempotent(command, options),
      onRetry: (error) => {
        this.breaker?.failure(error);
        this.#loop.onRetry(error);
      },
      closed: () => this.#closed,
      attemptTimeoutMs: this.#options.attemptTimeoutMs * 2,
      retryBaseDelayMs: this.#options.retryBaseDelayMs,
      retryMaxDelayMs: this.#options.retryMaxDelayMs,
      clock: this.#deps.clock,
      random: this.#deps.random,
    });
  }

  /** Routing needs the slot map, which a cluster client has once ready: wait for it within the deadline. */
  async #slotMapReady(timeoutMs: number): Promise<void> {
    if (this.#closing) throw new SlotforgeError('E_CLOSED', 'called after close()');
    if (!(this.#client instanceof Cluster) || this.#client.slots.length > 0) return;
    await this.#waitReady(this.#client, timeoutMs);
  }

  groupByNode(keys: readonly string[]): Map<string, string[]> {
    return groupByNode(this.#client, keys);
  }

  masters(): Api.NodeRef[] {
    return masters(this.#client, this.#options.target);
  }

  callNode(node: Api.NodeRef, command: string, args: readonly Api.RedisArg[], options?: Api.CallOptions) {
    // Counted for close() from the start, the wait for the slot map included.
    const ready = this.#slotMapReady(options?.timeoutMs ?? this.commandTimeoutMs);
    const idempotent = this.#idempotent(command, options);
    return this.#loop.track(
      ready.then(() =>
        this.#loop.run(command.toUpperCase(), undefined, idempotent, options, async () => {
          const client = nodeClient(this.#client, node);
          return options?.buffers ? client.callBuffer(command, [...args]) : client.call(command, [...args]);
        }),
      ),
    );
  }

  async *scan(
    pattern: string,
    options: { readonly count?: number; readonly type?: string } = {},
  ): AsyncIterable<string[]> {
    await this.#slotMapReady(this.commandTimeoutMs);
    yield* scanNodes(this.masters(), (node, args) => this.callNode(node, 'SCAN', args), pattern, options);
  }

  async connectNode(node: Api.NodeRef): Promise<Api.NodeConnection> {
    const redis = createNodeClient(this.#options, node, 'node');
    redis.on('error', (error: Error) => this.#events.emit('error', error, node.id));
    const connection = new NodeConnectionHandle(node, redis, (command, idempotent, options, attempt) =>
      this.#loop.run(command, undefined, idempotent, options, attempt),
    );
    this.#track(connection);
    await this.#waitReady(redis, readyTimeoutMs(this.#options));
    return connection;
  }

  duplicate(options: { readonly sharded?: boolean; readonly node?: Api.NodeRef } = {}): Api.Subscriber {
    const closing = () => this.#closed || subscriber.closing;
    const client = createDuplicateClient(this.#client, this.#options, { ...options, suffix: 'sub' }, closing);
    const subscriber: SubscriberHandle = new SubscriberHandle(client, client instanceof Cluster, this.commandTimeoutMs);
    // A sharded subscriber follows the slot map (resubscribes on the new owner after a failover).
    subscriber.onClosed(this.#refreshPeriodically(client));
    if (options.sharded && client instanceof Cluster) {
      subscriber.onClosed(watchShardedSubscriber(client, this.#options.slotsRefreshIntervalMs, subscriber));
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
    const node =
      key === undefined || this.mode !== 'cluster' ? this.masters()[0] : nodeRef(nodeIdOfKey(this.#client, key));
    const reply = (await (node && this.mode === 'cluster'
      ? this.callNode(node, 'TIME', [])
      : this.call('TIME', []))) as [string, string];
    return Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
  }

  on<E extends keyof Api.ConnectionEvents>(event: E, listener: Api.ConnectionEvents[E]): this {
    this.#events.on(event, listener);
    return this;
  }

  off<E extends keyof Api.ConnectionEvents>(event: E, listener: Api.ConnectionEvents[E]): this {
    this.#events.off(event, listener);
    return this;
  }

  async ready(timeoutMs = readyTimeoutMs(this.#options)): Promise<void> {
    await this.#waitReady(this.#client, timeoutMs);
  }

  #waitReady(client: Client, timeoutMs: number): Promise<void> {
    // Sentinel's reason belongs to the main client only (a node connection has its own errors).
    return waitReady(client, timeoutMs, this.#deps.clock, () =>
      client === this.#client ? this.#sentinel?.last : undefined,
    );
  }

  /** Refuses new calls, lets running ones finish (within commandTimeoutMs), QUITs; a call still retrying: E_CLOSED. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#loop.drained(this.#options.commandTimeoutMs);
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
