/**
 * Write coalescing: the commands issued in one tick go to each socket in one system call.
 *
 * ioredis writes every command with its own `socket.write`, which is one `write(2)` per command. Measured on the
 * benchmark's 2-core machine with 64 concurrent cache hits, that system call was about half of the client's CPU time
 * per hit (11 to 21 us of 25 to 42 us). Corking the sockets on the second command of a tick and uncorking them on
 * `process.nextTick` (which runs after the microtasks that issued the tick's commands) turns N writes into two
 * system calls per node, as node-redis does. A command waits at most until the end of the current tick; replies,
 * ordering (a socket keeps its order) and deadlines (ioredis arms commandTimeout when the command is queued) are
 * unchanged.
 *
 * Corking starts only when another command is in flight (some connection's command queue is not empty): a lone
 * caller (concurrency 1: the previous reply has been read before the next command is sent) schedules nothing, because
 * a `process.nextTick` per command cost about 4.5 % of a cache hit's throughput at concurrency 1 on that machine.
 *
 * @internal Used by connection.ts only; it sees sockets, never ioredis.
 */

/** What is corked: a Node writable (net.Socket or tls.TLSSocket). */
export interface Corkable {
  readonly writable: boolean;
  cork(): void;
  uncork(): void;
}

/**
 * A source of sockets: an ioredis connection exposes its current socket as `stream` (replaced on reconnect) and the
 * commands sent on it and not yet answered as `commandQueue`.
 */
export interface StreamHolder {
  readonly stream?: Corkable | undefined;
  readonly commandQueue?: { readonly length: number } | undefined;
}

export class WriteCoalescer {
  readonly #holders: () => readonly StreamHolder[];
  /** The sockets corked this tick: uncorked exactly once each, even if their connection reconnected meanwhile. */
  readonly #held: Corkable[] = [];
  /** True from the first corked command of a tick until the release at its end. */
  #corked = false;
  readonly #release = (): void => {
    this.#corked = false;
    const held = this.#held;
    for (let i = 0; i < held.length; i++) (held[i] as Corkable).uncork();
    held.length = 0;
  };

  /** `holders` lists the connections commands may go to (every master); called once per command at most. */
  constructor(holders: () => readonly StreamHolder[]) {
    this.#holders = holders;
  }

  /**
   * Called before a command is sent. With nothing in flight the command is written at once and nothing is scheduled;
   * otherwise every socket is corked until the end of the tick, so this tick's commands go out together. `always`
   * corks even with nothing in flight (a batch about to send many commands in this tick).
   */
  hold(always = false): void {
    if (this.#corked) return;
    const holders = this.#holders();
    let inFlight = always;
    for (let i = 0; i < holders.length && !inFlight; i++) {
      if (((holders[i] as StreamHolder).commandQueue?.length ?? 0) > 0) {
        inFlight = true;
        break;
      }
    }
    if (!inFlight) return;
    this.#corked = true;
    process.nextTick(this.#release);
    for (let i = 0; i < holders.length; i++) {
      const stream = (holders[i] as StreamHolder).stream;
      if (stream?.writable) {
        stream.cork();
        this.#held.push(stream);
      }
    }
  }

  /** Sockets corked now (for tests). */
  get held(): number {
    return this.#held.length;
  }
}
