/** Raised when {@link pollUntil} reaches its deadline; carries what was awaited and the last observation. */
export class DeadlineError extends Error {
  readonly code = 'E_DEADLINE';
  constructor(
    readonly description: string,
    readonly timeoutMs: number,
    readonly lastObservation: unknown,
    options?: { cause?: unknown },
  ) {
    super(
      `timed out after ${timeoutMs} ms waiting for ${description} (last seen: ${format(lastObservation)})`,
      options,
    );
    this.name = 'DeadlineError';
  }
}

function format(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value.length > 300 ? `${value.slice(0, 300)}…` : value;
  try {
    return JSON.stringify(value)?.slice(0, 300) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** What is awaited, for the error message. */
  readonly description: string;
  /** @default 15000 */
  readonly timeoutMs?: number;
  /** @default 50 */
  readonly intervalMs?: number;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false`, or throws {@link DeadlineError} at the
 * deadline. A probe that throws counts as "not yet" (the error is kept as the last observation).
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: PollOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      throw new DeadlineError(options.description, timeoutMs, last, {
        cause: last instanceof Error ? last : undefined,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits `ms`, or less when `signal` aborts first (then it resolves, it does not reject). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
