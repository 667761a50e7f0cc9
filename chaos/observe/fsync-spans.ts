/** One poll of a member's INFO persistence, reduced to its AOF fsync. */
export interface FsyncSample {
  /** A background fsync is running (`aof_pending_bio_fsync`). */
  readonly fsyncPending: boolean;
  /** Bytes of acknowledged writes not yet written to the AOF (`aof_buffer_length`). */
  readonly buffered: number;
  /** When the poll answered, in ms on the recorder's clock. */
  readonly at: number;
}

/**
 * Follows each member's AOF fsyncs through the observer's polls. An fsync seen running in two polls or more is a slow
 * one: with `appendfsync everysec` Redis postpones writing its AOF buffer while it runs (for up to 2 s) and keeps
 * answering, so a SIGKILL meanwhile loses writes it acknowledged. A fast fsync (a few ms) is seen in one poll at most.
 * @internal
 */
export class FsyncSpans {
  /** Per member, the polls that saw the current fsync running. */
  readonly #running = new Map<string, FsyncSample[]>();

  /**
   * Takes the next poll of `pod` (undefined: it did not answer, or has no AOF). Returns, when a slow fsync's span ends
   * here (a poll that sees none running, or no answer: `unfinished`), what was seen of it: from when, for at least
   * how long, and the most bytes it held back.
   */
  see(pod: string, sample: FsyncSample | undefined): string | undefined {
    const seen = this.#running.get(pod) ?? [];
    if (sample?.fsyncPending) {
      this.#running.set(pod, [...seen, sample]);
      return undefined;
    }
    this.#running.delete(pod);
    const [first] = seen;
    const last = seen.at(-1);
    if (!first || !last || seen.length < 2) return undefined;
    const held = Math.max(...seen.map((s) => s.buffered));
    const span = Math.round(last.at - first.at);
    return `${pod} ${sample ? '' : 'unfinished, '}running for >= ${span} ms from ${Math.round(first.at)} ms, ${held} bytes held back`;
  }
}
