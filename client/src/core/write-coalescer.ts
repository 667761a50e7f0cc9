/**
 * Write coalescing: the commands issued in one tick go to each socket in one system call.
 *
 * ioredis writes every command with its own `socket.write`, which is one `write(2)` per command. Measured on the
 * benchmark's 2-core machine with 64 concurrent cache hits, that system call was about half of the client's CPU time
 * per hit (11 to 21 us of 25 to 42 us). Corking the sockets on the second command of a tick and uncorking them on
 * `process.nextTick` (which runs after the microtasks that issued the tick's commands) turns N writes into two
 * system calls per node (the first command is written at once), as node-redis does. A command waits at most until
 * the end of the current tick; replies, ordering (a socket keeps its order) and deadlines (ioredis arms
 * commandTimeout when the command is queued) are unchanged.
 *
 * @internal Used by connection.ts only; it sees sockets, never ioredis.
 */

/** What is corked: a Node writable (net.Socket or tls.TLSSocket). */
export interface Corkable {
  readonly writable: boolean;
  cork(): void;
  uncork(): void;
}

/** A source of sockets: an ioredis connection exposes its current socket as `stream` (replaced on reconnect). */
export interface StreamHolder {
  readonly stream?: Corkable | undefined;
}

export class WriteCoalescer {
  readonly #holders: () => readonly StreamHolder[];
  /** The sockets corked this tick: uncorked exactly once each, even if their connection reconnected meanwhile. */
  readonly #held: Corkable[] = [];
  /** 0: no command yet this tick; 1: one command sent (written at once); 2: the sockets are corked. */
  #state: 0 | 1 | 2 = 0;
  readonly #release = (): void => {
    this.#state = 0;
    const held = this.#held;
    for (let i = 0; i < held.length; i++) (held[i] as Corkable).uncork();
    held.length = 0;
  };

  /** `holders` lists the connections commands may go to (every master); called once per tick at most. */
  constructor(holders: () => readonly StreamHolder[]) {
    this.#holders = holders;
  }

  /**
   * Called before a command is sent. The first command of a tick is written at once (a lone caller pays no cork and
   * no buffered write); the second corks every socket until the end of the tick, so the rest go out together.
   */
  hold(): void {
    if (this.#state === 2) return;
    if (this.#state === 0) {
      this.#state = 1;
      process.nextTick(this.#release);
      return;
    }
    this.#state = 2;
    const holders = this.#holders();
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
