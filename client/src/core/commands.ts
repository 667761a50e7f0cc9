import { createHash } from 'node:crypto';
import type { BreakerState, BreakerView } from './breaker.ts';
import type { SlotforgeError } from './errors.ts';

/**
 * The narrow command interface every pattern module depends on. It hides ioredis (only connection.ts imports it)
 * and hides the deployment: the same calls work on standalone, sentinel and cluster, never raise CROSSSLOT, and each
 * one has a deadline and retries through a failover.
 */

/** Deployment kinds. */
export type DeploymentMode = 'standalone' | 'cluster' | 'sentinel';

/** An argument of a Redis command. */
export type RedisArg = string | Buffer | number;

/** Per-call options. */
export interface CallOptions {
  /** Deadline of the call including retries. @default the client's `commandTimeoutMs` */
  readonly timeoutMs?: number;
  /**
   * Whether the command may run twice: an ambiguous failure (timeout, reset connection) is retried only when true.
   * @default true for reads, GET/SET/DEL/EXPIRE-like commands; false for INCR-like commands and scripts
   */
  readonly idempotent?: boolean;
  /** Return bulk replies as Buffers. @default false */
  readonly buffers?: boolean;
  /**
   * Fail with E_CIRCUIT_OPEN instead of waiting while the circuit breaker is open, also when it opens during this
   * call's retries (cache reads: the loader can answer instead). @default false
   */
  readonly failFast?: boolean;
}

/** A Lua script with its SHA1, sent with EVALSHA and re-sent with EVAL after NOSCRIPT (failover, SCRIPT FLUSH). */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
  /** Whether running it twice is harmless (decides retries after ambiguous failures). @default false */
  readonly idempotent: boolean;
}

/** Defines a script once, at module load. All KEYS of one call must share a slot (use a hash tag). */
export function defineScript(name: string, lua: string, options: { readonly idempotent?: boolean } = {}): Script {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex'), idempotent: options.idempotent ?? false };
}

/** One command of a batch. */
export interface BatchCommand {
  readonly command: string;
  readonly args: readonly RedisArg[];
  /** The key that routes the command. @default String(args[0]) */
  readonly key?: string;
}

/** Outcome of one command of a batch, in the order given. */
export type BatchResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: SlotforgeError };

/** A master node of the deployment (standalone and sentinel have one). */
export interface NodeRef {
  /** `host:port` */
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

/** Messages a subscriber connection delivers. */
export interface SubscriberEvents {
  message: (channel: string, message: Buffer) => void;
  pmessage: (pattern: string, channel: string, message: Buffer) => void;
  smessage: (channel: string, message: Buffer) => void;
  /** The connection is (re)established; subscriptions are restored by ioredis before this fires. */
  ready: () => void;
  /** The connection dropped; messages published meanwhile are lost. */
  close: () => void;
  error: (error: Error) => void;
  /**
   * A sharded subscription Redis no longer confirmed on the master of its slot, though the client meant it, was sent
   * again there and confirmed (ioredis had dropped a failed resubscribe: client/src/core/ioredis/sharded-subscribers.ts).
   * A refusal of that SSUBSCRIBE is an 'error'; it is tried again after a back-off (up to 30 s).
   */
  resubscribe: (channels: string[], node: string) => void;
}

/** A connection in subscriber mode. On a cluster, `ssubscribe` uses one connection per master (sharded pub/sub). */
export interface Subscriber {
  subscribe(...channels: string[]): Promise<void>;
  unsubscribe(...channels: string[]): Promise<void>;
  psubscribe(...patterns: string[]): Promise<void>;
  punsubscribe(...patterns: string[]): Promise<void>;
  ssubscribe(...channels: string[]): Promise<void>;
  sunsubscribe(...channels: string[]): Promise<void>;
  on<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): this;
  off<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): this;
  /** The server-side client id (CLIENT ID) of a standalone/node subscriber, for CLIENT TRACKING REDIRECT. */
  clientId(): Promise<number>;
  close(): Promise<void>;
}

/** A dedicated connection to one node (for CLIENT TRACKING, per-node admin commands). */
export interface NodeConnection {
  readonly node: NodeRef;
  call(command: string, args?: readonly RedisArg[], options?: CallOptions): Promise<unknown>;
  /** Fires when the connection is lost or re-established (state such as CLIENT TRACKING is gone). */
  on(event: 'close' | 'ready', listener: () => void): this;
  close(): Promise<void>;
}

/** Events of the command layer. */
export interface ConnectionEvents {
  ready: () => void;
  /** A connection (or node) was lost: anything kept per connection (near cache, tracking) must be reset. */
  reconnect: (node?: string) => void;
  /** The set of masters changed (cluster slot map refresh with new masters, sentinel failover). */
  topology: (masters: NodeRef[]) => void;
  error: (error: Error, node?: string) => void;
  /** The circuit breaker changed state; `cause` is the last failure (undefined when it closed). */
  breaker: (state: BreakerState, cause: unknown) => void;
}

/** The command interface. */
export interface RedisCommands {
  readonly mode: DeploymentMode;
  /** Default deadline of a call. */
  readonly commandTimeoutMs: number;
  /** The circuit breaker (core/breaker.ts); null or absent when turned off. */
  readonly breaker?: BreakerView | null;

  /** GET as a Buffer (null when missing). */
  get(key: string, options?: CallOptions): Promise<Buffer | null>;
  /**
   * SET with optional PX (`ttlMs`), NX/XX, and `wait` (WAIT numreplicas timeout after the write, for writes that must
   * survive a failover). Returns false when NX/XX prevented the write.
   */
  set(key: string, value: RedisArg, options?: SetOptions): Promise<boolean>;
  /** Deletes keys of any slots: grouped by slot, one DEL per slot, pipelined per node. Returns how many existed. */
  del(keys: readonly string[], options?: CallOptions): Promise<number>;
  /** Gets keys of any slots as Buffers: grouped by slot, one MGET per slot, pipelined per node; order kept. */
  mget(keys: readonly string[], options?: CallOptions): Promise<(Buffer | null)[]>;
  /** Any command, routed by its first key (ioredis' command table). */
  call(command: string, args: readonly RedisArg[], options?: CallOptions): Promise<unknown>;
  /** EVALSHA with EVAL fallback on NOSCRIPT. */
  eval(script: Script, keys: readonly string[], args: readonly RedisArg[], options?: CallOptions): Promise<unknown>;
  /** Runs commands grouped by node, one pipeline per node, results in input order; each command fails alone. */
  batch(commands: readonly BatchCommand[], options?: CallOptions): Promise<BatchResult[]>;
  /** SCAN over every master (never KEYS): yields pages of full keys. */
  scan(pattern: string, options?: { readonly count?: number; readonly type?: string }): AsyncIterable<string[]>;
  /** Groups keys by the master that serves them now (by slot on a cluster; one group elsewhere). */
  groupByNode(keys: readonly string[]): Map<string, string[]>;
  /** The masters now. */
  masters(): NodeRef[];
  /** Runs a command on one master (e.g. SCAN, DBSIZE, FLUSHDB in tests). */
  callNode(node: NodeRef, command: string, args: readonly RedisArg[], options?: CallOptions): Promise<unknown>;
  /** Opens a dedicated connection to one node. */
  connectNode(node: NodeRef): Promise<NodeConnection>;
  /**
   * Opens a subscriber connection to the same deployment (cluster-aware; `sharded` for SSUBSCRIBE), or to one master
   * (`node`, e.g. for CLIENT TRACKING REDIRECT; on standalone/sentinel it is the one master anyway).
   */
  duplicate(options?: { readonly sharded?: boolean; readonly node?: NodeRef }): Subscriber;
  /** Server time in ms (TIME) of the node serving `key`. */
  time(key?: string): Promise<number>;
  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this;
  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this;
  /** Waits until the connection is ready (or the deadline passes). */
  ready(timeoutMs?: number): Promise<void>;
  /** QUIT every connection this layer opened (after pending replies), then disconnect. */
  close(): Promise<void>;
}

/** Options of `set`. */
export interface SetOptions extends CallOptions {
  /** Time to live in ms (PX). */
  readonly ttlMs?: number;
  /** Only set when missing (NX). */
  readonly nx?: boolean;
  /** Only set when present (XX). */
  readonly xx?: boolean;
  /** After the write, WAIT for this many replicas to acknowledge it (best effort, FACTS). */
  readonly waitReplicas?: number;
  /** Timeout of that WAIT. @default 1000 */
  readonly waitTimeoutMs?: number;
}
