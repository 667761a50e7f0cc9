import type { HistoryRecorder } from '../history.ts';
import type { TargetConnection } from '../target.ts';

/** What a workload gets: where to connect, where to record, and a signal to stop. */
export interface WorkloadContext {
  readonly connection: TargetConnection;
  readonly recorder: HistoryRecorder;
  readonly signal: AbortSignal;
  /** Per-operation deadline; an operation that exceeds it is recorded as `unknown`. */
  readonly operationTimeoutMs: number;
}

/**
 * A workload runs operations until `signal` aborts, recording each; `verify` then reads back what it needs for the
 * checkers (recorded as `verify` operations). Every loop is bounded by `maxOperations` and by the signal.
 */
export interface Workload {
  readonly name: string;
  run(ctx: WorkloadContext): Promise<void>;
  verify?(ctx: WorkloadContext): Promise<void>;
  /**
   * Whether the workload has been served again since `healthyAt` (ms on the recorder's clock): the runner keeps it
   * running past the settle time until it has (up to a bound), so a checker that asks "did it resume after the
   * fault" judges a client that reconnects slowly, not a run that stopped too early. Absent: settled at once.
   */
  settled?(healthyAt: number): boolean;
}

/** Rejects with a timeout error when `promise` takes longer than `ms`, so the operation is recorded as unknown. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`operation timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
