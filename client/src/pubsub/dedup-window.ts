/**
 * The subscriber's de-duplication window: per (channel, publisher), the highest sequence number seen and a bitmap of
 * the `size` numbers below it (the anti-replay window of IPsec, RFC 4303 section 3.4.3). Memory is bounded: `size`
 * bits per (channel, publisher), at most `maxPublishers` of them (least recently heard from is dropped first).
 *
 * Why: Redis Cluster can deliver one PUBLISH twice. Messages published on a master that is partitioned away reach
 * the subscribers in real time, and again after the heal, forwarded over the bus (issue 15, partition-bus).
 */

/** Verdict on one message id. */
export type WindowVerdict = 'new' | 'duplicate' | 'too-old';

/** @internal One publisher's window on one channel. */
class PublisherWindow {
  /** Highest sequence number seen. */
  max = 0;
  readonly bits: Uint32Array;

  constructor(size: number) {
    this.bits = new Uint32Array(size / 32);
  }
}

/** Bounded de-duplication of (channel, publisher, sequence) message ids. */
export class DedupWindow {
  readonly size: number;
  readonly maxPublishers: number;
  /** Insertion order = recency (re-inserted on every message): the first entry is the least recent. */
  readonly #windows = new Map<string, PublisherWindow>();

  /** `size` is rounded up to a multiple of 32. */
  constructor(size: number, maxPublishers: number) {
    this.size = Math.ceil(size / 32) * 32;
    this.maxPublishers = maxPublishers;
  }

  /** (channel, publisher) pairs tracked now (at most maxPublishers). */
  get tracked(): number {
    return this.#windows.size;
  }

  /** Records `seq` of `publisher` on `channel`; 'new' the first time, 'duplicate' or 'too-old' afterwards. */
  check(channel: string, publisher: string, seq: number): WindowVerdict {
    const id = `${channel}\u0000${publisher}`;
    let window = this.#windows.get(id);
    if (window) this.#windows.delete(id);
    else {
      window = new PublisherWindow(this.size);
      if (this.#windows.size >= this.maxPublishers) {
        const oldest = this.#windows.keys().next().value as string;
        this.#windows.delete(oldest);
      }
    }
    this.#windows.set(id, window);
    return mark(window, seq, this.size);
  }
}

function mark(window: PublisherWindow, seq: number, size: number): WindowVerdict {
  const { bits } = window;
  if (seq > window.max) {
    // Slide: clear the slots of the numbers between the old max and seq (all of them when it jumped past the window).
    const gap = seq - window.max;
    if (gap >= size) bits.fill(0);
    else for (let s = window.max + 1; s < seq; s++) clear(bits, s % size);
    window.max = seq;
    set(bits, seq % size);
    return 'new';
  }
  // Older than the window: per channel and publisher, Redis delivers in publish order, so a number this far behind
  // is a replay, not a late first copy (dropped, as IPsec and QUIC drop packets behind their windows).
  if (window.max - seq >= size) return 'too-old';
  const slot = seq % size;
  if (has(bits, slot)) return 'duplicate';
  set(bits, slot);
  return 'new';
}

function set(bits: Uint32Array, slot: number): void {
  bits[slot >>> 5] = (bits[slot >>> 5] as number) | (1 << (slot & 31));
}

function clear(bits: Uint32Array, slot: number): void {
  bits[slot >>> 5] = (bits[slot >>> 5] as number) & ~(1 << (slot & 31));
}

function has(bits: Uint32Array, slot: number): boolean {
  return ((bits[slot >>> 5] as number) & (1 << (slot & 31))) !== 0;
}
