/**
 * Connection handles returned by the command layer: a subscriber and a dedicated node connection. They are written
 * against the structural `RawClient` below, so this file does not import ioredis (connection.ts stays the only one).
 */
import { EventEmitter } from 'node:events';
import type { CallOptions, NodeConnection, NodeRef, RedisArg, Subscriber, SubscriberEvents } from './commands.ts';
import { type Clock, raceClock, systemClock } from './deps.ts';
import { SlotforgeError } from './errors.ts';
import { defaultIdempotent } from './idempotency.ts';
import { toSlotforgeError } from './retry.ts';

/** The (un)subscribe commands of a subscriber connection, each taking channel names or patterns. */
type SubscribeCommand = 'subscribe' | 'unsubscribe' | 'psubscribe' | 'punsubscribe' | 'ssubscribe' | 'sunsubscribe';

/** The part of an ioredis Redis/Cluster client the handles use. */
export interface RawClient extends Record<SubscribeCommand, (...names: string[]) => Promise<unknown>> {
  readonly status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
  // biome-ignore lint/suspicious/noExplicitAny: mirrors EventEmitter's own listener type, which ioredis uses.
  on(event: string, listener: (...args: any[]) => void): unknown;
  call(command: string, args: RedisArg[]): Promise<unknown>;
  callBuffer(command: string, args: RedisArg[]): Promise<unknown>;
}

/** QUITs (after pending replies) within `timeoutMs`, then drops the socket either way. */
export async function quit(client: RawClient, timeoutMs: number, clock: Clock): Promise<void> {
  if (client.status === 'end') return;
  try {
    await raceTimeout(client.quit(), timeoutMs, clock);
  } catch {
    // QUIT cannot be answered by a dead server: drop the sockets instead.
  } finally {
    client.disconnect();
  }
}

export function raceTimeout<T>(promise: Promise<T>, ms: number, clock: Clock): Promise<T> {
  return raceClock(promise, ms, clock, () => {
    throw new Error('Command timed out (batch deadline)');
  });
}

/** What both handles share: their events, and close(): QUIT within a second, then tell the onClosed listeners. */
abstract class Handle {
  protected readonly emitter = new EventEmitter();
  #closedListeners: (() => void)[] = [];
  #closing = false;
  readonly #raw: RawClient;

  constructor(raw: RawClient) {
    this.#raw = raw;
  }

  onClosed(fn: () => void): void {
    this.#closedListeners.push(fn);
  }

  /** Set from the start of close(). */
  get closing(): boolean {
    return this.#closing;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.emitter.removeAllListeners();
    await quit(this.#raw, 1000, systemClock);
    for (const fn of this.#closedListeners) fn();
    this.#closedListeners = [];
  }
}

/** @internal A dedicated connection to one node. */
export class NodeConnectionHandle extends Handle implements NodeConnection {
  constructor(
    readonly node: NodeRef,
    private readonly redis: RawClient,
    private readonly retry: (
      command: string,
      idempotent: boolean,
      options: CallOptions | undefined,
      attempt: () => Promise<unknown>,
    ) => Promise<unknown>,
  ) {
    super(redis);
    let wasReady = false;
    redis.on('ready', () => {
      if (wasReady) this.emitter.emit('ready');
      wasReady = true;
    });
    redis.on('close', () => this.emitter.emit('close'));
  }

  call(command: string, args: readonly RedisArg[] = [], options?: CallOptions): Promise<unknown> {
    const idempotent = options?.idempotent ?? defaultIdempotent(command);
    return this.retry(command.toUpperCase(), idempotent, options, () =>
      options?.buffers ? this.redis.callBuffer(command, [...args]) : this.redis.call(command, [...args]),
    );
  }

  on(event: 'close' | 'ready', listener: () => void): this {
    this.emitter.on(event, listener);
    return this;
  }
}

/** @internal A connection in subscriber mode (one node, or cluster-aware). */
export class SubscriberHandle extends Handle implements Subscriber {
  /** The (un)subscribe calls not yet answered: close() fails them (E_CLOSED). */
  readonly #pending = new Set<(error: SlotforgeError) => void>();

  /** `timeoutMs`: the deadline of each (un)subscribe call (the connection's commandTimeoutMs). */
  constructor(
    private readonly client: RawClient,
    private readonly isCluster: boolean,
    private readonly timeoutMs: number,
  ) {
    super(client);
    this.emitter.setMaxListeners(0);
    client.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      this.emitter.emit('message', channel.toString(), message),
    );
    client.on('pmessageBuffer', (pattern: Buffer, channel: Buffer, message: Buffer) =>
      this.emitter.emit('pmessage', pattern.toString(), channel.toString(), message),
    );
    client.on('smessageBuffer', (channel: Buffer, message: Buffer) =>
      this.emitter.emit('smessage', channel.toString(), message),
    );
    client.on('ready', () => this.emitter.emit('ready'));
    client.on('close', () => this.emitter.emit('close'));
    // Without an error listener Node would throw on 'error' and crash the process.
    client.on('error', (error: Error) => {
      if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
    });
  }

  readonly subscribe = (...channels: string[]): Promise<void> => this.#send('subscribe', channels);
  readonly unsubscribe = (...channels: string[]): Promise<void> => this.#send('unsubscribe', channels);
  readonly psubscribe = (...patterns: string[]): Promise<void> => this.#send('psubscribe', patterns);
  readonly punsubscribe = (...patterns: string[]): Promise<void> => this.#send('punsubscribe', patterns);
  readonly ssubscribe = (...channels: string[]): Promise<void> => this.#send('ssubscribe', channels);
  readonly sunsubscribe = (...channels: string[]): Promise<void> => this.#send('sunsubscribe', channels);

  /**
   * One (un)subscribe within the deadline, failing with a SlotforgeError: E_TIMEOUT when Redis did not confirm it in
   * time (ioredis may still send it once connected: the pub/sub module then drops what arrives for a channel without
   * handlers), E_CLOSED when close() came first, else ioredis' error wrapped (E_CONNECTION or E_COMMAND).
   */
  async #send(command: SubscribeCommand, names: string[]): Promise<void> {
    const upper = command.toUpperCase();
    const key = names.join(' ');
    const timeoutMs = this.timeoutMs;
    if (this.closing) throw new SlotforgeError('E_CLOSED', `${upper} '${key}' after close()`, { command: upper, key });
    let cut: (error: SlotforgeError) => void = () => {};
    const closed = new Promise<never>((_, reject) => {
      cut = reject;
    });
    this.#pending.add(cut);
    try {
      await raceClock(Promise.race([this.client[command](...names), closed]), timeoutMs, systemClock, () => {
        throw new SlotforgeError('E_TIMEOUT', `${upper} '${key}' was not confirmed within ${timeoutMs} ms`, {
          command: upper,
          key,
          timeoutMs,
        });
      });
    } catch (error) {
      throw toSlotforgeError(error, { command: upper, key, timeoutMs });
    } finally {
      this.#pending.delete(cut);
    }
  }

  override async close(): Promise<void> {
    for (const fail of [...this.#pending])
      fail(new SlotforgeError('E_CLOSED', 'subscriber closed before Redis confirmed the (un)subscribe'));
    await super.close();
  }

  /** @internal The sharded subscription audit sent `channels` again to `node`, and Redis confirmed them. */
  repaired(channels: string[], node: string): void {
    this.emitter.emit('resubscribe', channels, node);
  }

  /** @internal Redis refused the audit's SSUBSCRIBE of lost `channels`: an 'error', tried again later. */
  refused(channels: string[], node: string, error: unknown, retryInMs: number): void {
    if (this.emitter.listenerCount('error') === 0) return;
    const reason = error instanceof Error ? error.message : String(error);
    const message = `SSUBSCRIBE ${channels.join(' ')} (lost, sent again) refused by ${node}: ${reason}; next try in ${retryInMs} ms`;
    this.emitter.emit('error', new SlotforgeError('E_COMMAND', message, { command: 'SSUBSCRIBE', cause: error }));
  }

  async clientId(): Promise<number> {
    if (this.isCluster) {
      throw new SlotforgeError('E_INVALID_OPTION', 'clientId() needs a subscriber to one node: duplicate({ node })', {
        option: 'node',
      });
    }
    return Number(await this.client.call('CLIENT', ['ID']));
  }

  on<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): this {
    this.emitter.on(event, listener);
    return this;
  }

  off<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): this {
    this.emitter.off(event, listener);
    return this;
  }
}
