import type { BatchCommand, BatchResult, CallOptions } from './commands.ts';
import { raceTimeout } from './connection-handles.ts';
import type { Clock } from './deps.ts';
import { SlotforgeError } from './errors.ts';
import { classifyFailure, sleep, toSlotforgeError } from './retry.ts';

/**
 * Batches grouped per node: one pipeline per node per attempt, results in input order, each command failing alone.
 * Commands that failed retryably (CLUSTERDOWN, MOVED after a failover, refused connections; ambiguous failures of
 * idempotent commands) are regrouped on the refreshed slot map and retried until the deadline.
 */

/** What runBatch needs from the connection (no ioredis here). */
export interface BatchRunner {
  /** The node serving this command's key now. */
  nodeOf(command: BatchCommand): string;
  /** Sends one pipeline to `node` (nodeOf of every command); replies in order. */
  exec(node: string, commands: readonly BatchCommand[], buffers: boolean): Promise<[Error | null, unknown][] | null>;
  idempotent(command: string): boolean;
  onRetry(error: unknown): void;
  closed(): boolean;
  readonly attemptTimeoutMs: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly clock: Clock;
  readonly random: () => number;
}

/** Runs `commands` with one pipeline per node; see BatchRunner. */
export async function runBatch(
  commands: readonly BatchCommand[],
  options: CallOptions | undefined,
  timeoutMs: number,
  runner: BatchRunner,
): Promise<BatchResult[]> {
  const results: (BatchResult | undefined)[] = new Array(commands.length);
  const clock = runner.clock;
  const deadline = clock.now() + timeoutMs;
  let pending = commands.map((_, i) => i);
  let attempt = 0;
  let lastErrors = new Map<number, unknown>();
  while (pending.length > 0) {
    if (runner.closed()) throw new SlotforgeError('E_CLOSED', 'batch called after close()', { command: 'batch' });
    attempt++;
    const groups = new Map<string, number[]>();
    for (const i of pending) {
      const c = commands[i] as BatchCommand;
      const node = runner.nodeOf(c);
      const group = groups.get(node);
      if (group) group.push(i);
      else groups.set(node, [i]);
    }
    const retry: number[] = [];
    lastErrors = new Map();
    await Promise.all(
      [...groups].map(async ([node, indices]) => {
        let replies: [Error | null, unknown][];
        try {
          // One attempt is bounded like a single command: a pipeline stuck on a dead node must not eat the whole
          // deadline, the next attempt regroups on a refreshed slot map.
          const attemptMs = Math.max(1, Math.min(deadline - clock.now(), runner.attemptTimeoutMs));
          replies =
            (await raceTimeout(
              runner.exec(
                node,
                indices.map((i) => commands[i] as BatchCommand),
                options?.buffers ?? false,
              ),
              attemptMs,
              clock,
            )) ?? [];
        } catch (error) {
          replies = indices.map(() => [error as Error, undefined]);
        }
        indices.forEach((i, j) => {
          const [error, value] = replies[j] ?? [new Error('Connection is closed (no reply)'), undefined];
          if (!error) {
            results[i] = { ok: true, value };
            return;
          }
          const c = commands[i] as BatchCommand;
          const kind = classifyFailure(error);
          const idempotent = runner.idempotent(c.command);
          lastErrors.set(i, error);
          if (kind === 'retry' || (kind === 'ambiguous' && idempotent)) retry.push(i);
          else
            results[i] = { ok: false, error: toSlotforgeError(error, { command: c.command, key: c.key, timeoutMs }) };
        });
      }),
    );
    pending = retry;
    if (pending.length === 0) break;
    runner.onRetry(lastErrors.values().next().value);
    const ceiling = Math.min(runner.retryMaxDelayMs, runner.retryBaseDelayMs * 2 ** (attempt - 1));
    const delay = Math.min(Math.max(1, Math.floor(runner.random() * ceiling)), deadline - clock.now());
    if (delay <= 0) break;
    await sleep(delay, clock);
  }
  for (const i of pending) {
    const c = commands[i] as BatchCommand;
    const cause = lastErrors.get(i);
    const error = toSlotforgeError(cause, { command: c.command, key: c.key, timeoutMs });
    results[i] = {
      ok: false,
      error:
        error.code === 'E_COMMAND'
          ? new SlotforgeError('E_TIMEOUT', `${c.command} did not succeed within ${timeoutMs} ms`, {
              key: c.key,
              timeoutMs,
              cause,
              attempts: attempt,
            })
          : error,
    };
  }
  return results as BatchResult[];
}
