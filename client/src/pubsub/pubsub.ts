import { randomBytes } from 'node:crypto';
import type { CoreContext } from '../context.ts';
import type { Subscriber } from '../core/index.ts';
import {
  booleanOption,
  functionOption,
  integerOption,
  invalidOption,
  isSlotforgeError,
  SlotforgeError,
  stringOption,
} from '../core/index.ts';
import { DedupWindow } from './dedup-window.ts';
import { decodeMessage, encodeMessage, hasMessageId, PUBLISHER_ID_BYTES } from './message.ts';

/** What pub/sub needs from the core. */
export type PubSubDeps = Pick<CoreContext, 'commands' | 'keys' | 'envelope' | 'metrics' | 'events' | 'deps'>;

/**
 * Validates a decoded message: a type guard (`(v) => v is T`), or a schema with `parse` that returns the value or
 * throws (zod, valibot, ...). A rejected message is reported as malformed, never handed to a handler.
 */
export type MessageValidator<T> = ((value: unknown) => value is T) | { parse(value: unknown): T };

/** Options of a channel. */
export interface ChannelOptions<T> {
  /** Checks every received message before any handler sees it. @default none (any decoded value) */
  readonly validator?: MessageValidator<T>;
  /**
   * Sharded pub/sub (SPUBLISH/SSUBSCRIBE): the message goes only to the master owning the channel's slot instead of
   * being broadcast on the cluster bus to every node. Sharded channels are resubscribed on the new master after a
   * failover.
   * @default true on a cluster, false elsewhere
   */
  readonly sharded?: boolean;
}

/** Options of a PubSub (`client.use(createPubSub, options)`). */
export interface PubSubOptions {
  /**
   * Publish with a message id (publisher id + sequence number, envelope version 3) so subscribers drop a second copy
   * of one message. Subscribers of this version read both formats; an older subscriber reports version 3 messages as
   * malformed, so upgrade subscribers before publishers (or set false until they are).
   * @default true
   */
  readonly messageIds?: boolean;
  /**
   * Sequence numbers remembered per (channel, publisher) to recognise a second copy: a message this far behind the
   * newest one seen is dropped as a replay. 0 turns de-duplication off. Costs `dedupWindow / 8` bytes per pair.
   * @default 4096
   */
  readonly dedupWindow?: number;
  /** (channel, publisher) pairs remembered; the least recently heard from is forgotten first. @default 1024 */
  readonly dedupMaxPublishers?: number;
}

/** Defaults of PubSubOptions. */
export const PUBSUB_DEFAULTS = { messageIds: true, dedupWindow: 4096, dedupMaxPublishers: 1024 } as const;

/** Payload of `pubsub:duplicate`. */
export interface DroppedMessage {
  readonly channel: string;
  readonly publisher: string;
  readonly seq: number;
  readonly reason: 'duplicate' | 'too-old';
}

/** A handler of a channel's messages. Its errors (sync or async) are isolated and reported as `pubsub:error`. */
export type MessageHandler<T> = (message: T, channel: string) => void | Promise<void>;

/** Payload of `pubsub:malformed`. */
export interface MalformedMessage {
  readonly channel: string;
  readonly reason: 'decode' | 'validate';
  readonly error: SlotforgeError;
}

/** A typed channel. */
export interface Channel<T> {
  /** The channel's name as given (without the namespace). */
  readonly name: string;
  /** The Redis channel (`<namespace>:<name>`). */
  readonly redisChannel: string;
  readonly sharded: boolean;
  /** Publishes a message (encoded with the client's codec); returns how many subscribers received it. */
  publish(message: T): Promise<number>;
  /** Adds a handler; resolves once the subscription is live. Returns a function that removes the handler. */
  subscribe(handler: MessageHandler<T>): Promise<() => Promise<void>>;
}

interface ChannelState {
  readonly sharded: boolean;
  readonly decode: (bytes: Buffer) => unknown;
  readonly handlers: Set<MessageHandler<unknown>>;
  subscribed: Promise<void> | undefined;
  /** Last sequence number this publisher used on the channel. */
  seq: number;
}

/**
 * Typed pub/sub. ONE subscriber connection (on a cluster: one ioredis sharded subscriber per master for sharded
 * channels, one connection for classic ones) is shared by every handler of every channel: the seed opened a
 * duplicate connection per `onMessage` call. A message that is not valid JSON / not an envelope, or that fails the
 * validator, never reaches a handler and never throws: it is counted (`slotforge_errors_total{code="E_MESSAGE"}`)
 * and reported as `pubsub:malformed`. Subscriptions survive reconnects and failovers (ioredis resubscribes classic
 * channels on reconnect and sharded channels on the new owner after a slot map refresh).
 */
export class PubSub {
  readonly #ctx: PubSubDeps;
  readonly #channels = new Map<string, ChannelState>();
  #classic: Subscriber | undefined;
  #sharded: Subscriber | undefined;
  #closed = false;
  /** This publisher's id in message ids (null: messageIds off). */
  readonly #publisher: Buffer | null;
  /** Null: de-duplication off. */
  readonly #window: DedupWindow | null;

  constructor(ctx: PubSubDeps, options: PubSubOptions = {}) {
    this.#ctx = ctx;
    const messageIds = booleanOption('messageIds', options.messageIds ?? PUBSUB_DEFAULTS.messageIds);
    const size = integerOption('dedupWindow', options.dedupWindow ?? PUBSUB_DEFAULTS.dedupWindow, 0, 1 << 20);
    const pairs = integerOption(
      'dedupMaxPublishers',
      options.dedupMaxPublishers ?? PUBSUB_DEFAULTS.dedupMaxPublishers,
      1,
    );
    this.#publisher = messageIds ? randomBytes(PUBLISHER_ID_BYTES) : null;
    this.#window = size === 0 ? null : new DedupWindow(size, pairs);
  }

  /** (channel, publisher) pairs in the de-duplication window now (bounded by dedupMaxPublishers). */
  get dedupTracked(): number {
    return this.#window?.tracked ?? 0;
  }

  /** Subscriber connections opened so far (0, 1 or 2: classic and sharded), whatever the number of handlers. */
  get connections(): number {
    return (this.#classic ? 1 : 0) + (this.#sharded ? 1 : 0);
  }

  /** A typed channel. Calling it twice with the same name gives channels sharing one subscription. */
  channel<T = unknown>(name: string, options: ChannelOptions<T> = {}): Channel<T> {
    stringOption('name', name);
    const redisChannel = this.#ctx.keys.key(name);
    const sharded = options.sharded ?? this.#ctx.commands.mode === 'cluster';
    if (typeof sharded !== 'boolean') throw invalidOption('sharded', 'a boolean', sharded);
    const validate = toValidator(options.validator);
    const existing = this.#channels.get(redisChannel);
    if (existing && existing.sharded !== sharded) {
      throw invalidOption('sharded', `${existing.sharded} like the existing channel '${name}'`, sharded);
    }
    const state: ChannelState = existing ?? {
      sharded,
      decode: (bytes) => this.#decode(bytes, redisChannel),
      handlers: new Set(),
      subscribed: undefined,
      seq: 0,
    };
    this.#channels.set(redisChannel, state);
    return {
      name,
      redisChannel,
      sharded,
      publish: (message) => this.#publish(redisChannel, state, message),
      subscribe: async (handler) => {
        functionOption('handler', handler);
        // Each channel object validates for its own handlers: two views of one channel may differ in type.
        const wrapped: MessageHandler<unknown> = (raw, ch) => {
          let value: T;
          try {
            value = validate(raw);
          } catch (cause) {
            this.#malformed(redisChannel, 'validate', cause);
            return;
          }
          return handler(value, ch);
        };
        state.handlers.add(wrapped);
        try {
          await this.#ensureSubscribed(redisChannel, state);
        } catch (error) {
          // Not subscribed: this handler gets nothing, even if Redis confirms the SUBSCRIBE later.
          state.handlers.delete(wrapped);
          // ioredis records the channel before Redis answers: a SUBSCRIBE that timed out may still be sent once
          // connected, and one refused (NOPERM) stays in its records, so ioredis (and the sharded subscription audit)
          // would keep subscribing it on every reconnect. Take it back (queued behind it, best effort).
          if (state.handlers.size === 0) this.#retract(redisChannel, state);
          throw error;
        }
        return async () => {
          state.handlers.delete(wrapped);
          if (state.handlers.size === 0) await this.#unsubscribe(redisChannel, state);
        };
      },
    };
  }

  async #publish(redisChannel: string, state: ChannelState, message: unknown): Promise<number> {
    if (this.#closed) throw new SlotforgeError('E_CLOSED', `publish to '${redisChannel}' after close()`);
    const bytes = this.#publisher
      ? encodeMessage(this.#ctx.envelope, message, redisChannel, this.#publisher, ++state.seq)
      : this.#ctx.envelope.encode(message, redisChannel);
    const reply = await this.#ctx.commands.call(state.sharded ? 'SPUBLISH' : 'PUBLISH', [redisChannel, bytes]);
    return Number(reply);
  }

  #subscriber(sharded: boolean): Subscriber {
    if (this.#closed) throw new SlotforgeError('E_CLOSED', 'subscribe after close()');
    const existing = sharded ? this.#sharded : this.#classic;
    if (existing) return existing;
    const subscriber = this.#ctx.commands.duplicate({ sharded });
    const dispatch = (channel: string, message: Buffer) => this.#dispatch(channel, message);
    subscriber.on(sharded ? 'smessage' : 'message', dispatch);
    subscriber.on('error', (error) => this.#ctx.events.emit('pubsub:error', { error }));
    subscriber.on('ready', () => this.#ctx.events.emit('pubsub:ready', { sharded }));
    subscriber.on('resubscribe', (channels, node) => {
      this.#ctx.deps.logger.warn('pubsub: a sharded subscription was lost and is sent again', { channels, node });
      this.#ctx.events.emit('pubsub:resubscribe', { channels: channels.map((c) => this.#ctx.keys.strip(c)), node });
    });
    if (sharded) this.#sharded = subscriber;
    else this.#classic = subscriber;
    return subscriber;
  }

  #ensureSubscribed(redisChannel: string, state: ChannelState): Promise<void> {
    state.subscribed ??= (async () => {
      const subscriber = this.#subscriber(state.sharded);
      try {
        if (state.sharded) await subscriber.ssubscribe(redisChannel);
        else await subscriber.subscribe(redisChannel);
      } catch (error) {
        state.subscribed = undefined;
        throw error;
      }
    })();
    return state.subscribed;
  }

  #retract(redisChannel: string, state: ChannelState): void {
    const subscriber = state.sharded ? this.#sharded : this.#classic;
    const sent = state.sharded ? subscriber?.sunsubscribe(redisChannel) : subscriber?.unsubscribe(redisChannel);
    sent?.catch(() => {});
  }

  async #unsubscribe(redisChannel: string, state: ChannelState): Promise<void> {
    if (!state.subscribed || this.#closed) return;
    state.subscribed = undefined;
    const subscriber = state.sharded ? this.#sharded : this.#classic;
    if (!subscriber) return;
    if (state.sharded) await subscriber.sunsubscribe(redisChannel);
    else await subscriber.unsubscribe(redisChannel);
  }

  #dispatch(channel: string, message: Buffer): void {
    const state = this.#channels.get(channel);
    if (!state || state.handlers.size === 0) return;
    let value: unknown;
    if (hasMessageId(message)) {
      this.#dispatchWithId(channel, state, message);
      return;
    }
    try {
      value = state.decode(message);
    } catch (cause) {
      this.#malformed(channel, 'decode', cause);
      return;
    }
    this.#deliver(channel, state, value);
  }

  /** A message with an id: dropped when the window has seen it, else decoded and delivered. */
  #dispatchWithId(channel: string, state: ChannelState, message: Buffer): void {
    let decoded: ReturnType<typeof decodeMessage>;
    try {
      decoded = decodeMessage(this.#ctx.envelope, message, channel);
    } catch (cause) {
      this.#malformed(channel, 'decode', cause);
      return;
    }
    const verdict = this.#window?.check(channel, decoded.publisher, decoded.seq) ?? 'new';
    if (verdict !== 'new') {
      this.#ctx.metrics.pubsubDropped(verdict);
      this.#ctx.events.emit('pubsub:duplicate', {
        channel: this.#ctx.keys.strip(channel),
        publisher: decoded.publisher,
        seq: decoded.seq,
        reason: verdict,
      } satisfies DroppedMessage);
      return;
    }
    this.#deliver(channel, state, decoded.value);
  }

  #deliver(channel: string, state: ChannelState, value: unknown): void {
    for (const handler of state.handlers) {
      try {
        const result = handler(value, this.#ctx.keys.strip(channel));
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).catch((error: unknown) => this.#handlerError(channel, error));
        }
      } catch (error) {
        this.#handlerError(channel, error);
      }
    }
  }

  /** Envelope first; a message without one (another publisher) is read as plain JSON. */
  #decode(bytes: Buffer, channel: string): unknown {
    if (bytes.length > 0 && bytes[0] !== 0xf5) {
      try {
        return JSON.parse(bytes.toString('utf8'));
      } catch (cause) {
        throw new SlotforgeError('E_MESSAGE', `message on '${channel}' is neither an envelope nor JSON`, {
          key: channel,
          cause,
        });
      }
    }
    return this.#ctx.envelope.decode(bytes, channel);
  }

  #malformed(channel: string, reason: 'decode' | 'validate', cause: unknown): void {
    const error = new SlotforgeError(
      'E_MESSAGE',
      reason === 'decode'
        ? `malformed message on '${channel}': ${(cause as Error)?.message ?? String(cause)}`
        : `message on '${channel}' failed the validator: ${(cause as Error)?.message ?? String(cause)}`,
      { key: channel, cause: isSlotforgeError(cause) && cause.cause !== undefined ? cause.cause : cause },
    );
    this.#ctx.metrics.error('E_MESSAGE');
    this.#ctx.deps.logger.warn('pubsub: malformed message dropped', { channel, reason });
    this.#ctx.events.emit('pubsub:malformed', {
      channel: this.#ctx.keys.strip(channel),
      reason,
      error,
    } satisfies MalformedMessage);
  }

  #handlerError(channel: string, error: unknown): void {
    this.#ctx.deps.logger.error('pubsub: a handler threw', { channel });
    this.#ctx.events.emit('pubsub:error', { channel: this.#ctx.keys.strip(channel), error });
  }

  /** Closes the subscriber connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subscribers = [this.#classic, this.#sharded].filter((s): s is Subscriber => s !== undefined);
    this.#classic = undefined;
    this.#sharded = undefined;
    await Promise.allSettled(subscribers.map((s) => s.close()));
  }
}

function toValidator<T>(validator: MessageValidator<T> | undefined): (value: unknown) => T {
  if (validator === undefined) return (value) => value as T;
  if (typeof validator === 'function') {
    return (value) => {
      if (!validator(value)) throw new Error('the type guard returned false');
      return value as T;
    };
  }
  if (validator && typeof validator.parse === 'function') return (value) => validator.parse(value);
  throw invalidOption('validator', 'a type guard function or an object with parse()', validator);
}

/** Factory for `client.use(createPubSub, {})`. */
export function createPubSub(context: PubSubDeps, options: PubSubOptions = {}): PubSub {
  return new PubSub(context, options);
}
