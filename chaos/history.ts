/** The outcome of one operation, as a client saw it. */
export type Outcome = 'ok' | 'failed' | 'unknown';

/**
 * One operation of a workload. Times are milliseconds on the recorder's clock (monotonic, from its start).
 * `unknown` means the client cannot tell whether the operation took effect (a timeout, a connection reset after the
 * command was sent): checkers must treat it as "maybe applied".
 */
export interface Operation {
  readonly id: number;
  /** What the operation did: 'write', 'read', 'incr', 'read-counter', 'get-or-set', 'publish', 'receive', ... */
  readonly kind: string;
  readonly key?: string;
  /** The value written, or the increment. */
  readonly value?: string | number;
  /** The value read or returned. */
  readonly result?: string | number | null;
  readonly start: number;
  readonly end: number;
  readonly outcome: Outcome;
  /** Error code or message when not ok. */
  readonly error?: string;
  /** How many replicas confirmed the write (WAIT's reply) when the workload asked; 0 = only the master had it. */
  readonly replicas?: number;
  /** True when the operation touched a key the fault affects (e.g. a slot of the killed master). */
  readonly affected?: boolean;
}

/** A marker in the history: when a fault was injected or healed. */
export interface HistoryEvent {
  readonly at: number;
  readonly name: string;
  readonly detail?: string;
}

/** Everything a checker decides from. */
export interface History {
  readonly operations: readonly Operation[];
  readonly events: readonly HistoryEvent[];
}

/** Decides an operation's outcome from the error it raised; a timeout or a dropped connection is `unknown`. */
export type Classifier = (error: unknown) => Outcome;

/**
 * Errors after which the command may have been applied: it was sent and no reply came (a timeout, a reset, ioredis
 * giving up on a command it had already written when the connection dropped: "max retries per request", "Command
 * aborted due to connection close"; a cluster command re-sent after its first attempt was cut off ends as "Too many
 * Cluster redirections" even when that first attempt was applied). Unknown only widens a checker's bounds.
 */
const UNKNOWN =
  /timeout|timed out|E_TIMEOUT|ECONNRESET|EPIPE|Connection is closed|socket closed|max retries per request|aborted due to connection close|Too many Cluster redirections|unknown/i;

/** The default classifier: definite refusals (CLUSTERDOWN, MOVED loops, READONLY, NOAUTH...) fail; the rest is unknown. */
export const defaultClassifier: Classifier = (error) =>
  UNKNOWN.test(String((error as Error)?.message ?? error)) ? 'unknown' : 'failed';

/**
 * Records operations with their start, end and outcome. One recorder per scenario run, shared by its workloads.
 */
export class HistoryRecorder {
  readonly #operations: Operation[] = [];
  readonly #events: HistoryEvent[] = [];
  readonly #origin: number;
  #nextId = 0;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly classify: Classifier = defaultClassifier,
  ) {
    this.#origin = now();
  }

  /** Milliseconds since the recorder started. */
  elapsed(): number {
    return this.now() - this.#origin;
  }

  /** Marks a moment (fault injected, fault healed). */
  mark(name: string, detail?: string): void {
    this.#events.push({ at: this.elapsed(), name, ...(detail === undefined ? {} : { detail }) });
  }

  /** Runs `fn`, recording it; never throws (the outcome is in the history). Returns the result when ok. */
  invoke<T extends string | number | null>(
    kind: string,
    meta: { key?: string; value?: string | number; affected?: boolean },
    fn: () => Promise<T>,
  ): Promise<T | undefined> {
    return this.#run(kind, meta, async () => ({ result: await fn() }));
  }

  /**
   * Like {@link invoke}, for a write followed by WAIT: records the write's result and how many replicas confirmed it,
   * so checkers can set apart what Redis's asynchronous replication may lose.
   */
  invokeReplicated<T extends string | number | null>(
    kind: string,
    meta: { key?: string; value?: string | number; affected?: boolean },
    fn: () => Promise<{ result: T; replicas: number }>,
  ): Promise<T | undefined> {
    return this.#run(kind, meta, fn);
  }

  async #run<T extends string | number | null>(
    kind: string,
    meta: { key?: string; value?: string | number; affected?: boolean },
    fn: () => Promise<{ result: T; replicas?: number }>,
  ): Promise<T | undefined> {
    const id = this.#nextId++;
    const start = this.elapsed();
    try {
      const { result, replicas } = await fn();
      this.#operations.push({
        id,
        kind,
        ...meta,
        result,
        ...(replicas === undefined ? {} : { replicas }),
        start,
        end: this.elapsed(),
        outcome: 'ok',
      });
      return result;
    } catch (error) {
      this.#operations.push({
        id,
        kind,
        ...meta,
        start,
        end: this.elapsed(),
        outcome: this.classify(error),
        error: String((error as Error)?.message ?? error).slice(0, 200),
      });
      return undefined;
    }
  }

  /** Adds an operation recorded elsewhere (e.g. a message received by a subscriber). */
  record(op: Omit<Operation, 'id'>): void {
    this.#operations.push({ id: this.#nextId++, ...op });
  }

  history(): History {
    return {
      operations: [...this.#operations].sort((a, b) => a.start - b.start || a.id - b.id),
      events: [...this.#events],
    };
  }
}
