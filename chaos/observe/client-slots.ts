import type { Cluster } from 'ioredis';
import type { HistoryRecorder } from '../history.ts';

/** Every this many slots one is sampled: 256 samples cover any range the suite moves or fails over. */
const SAMPLE_STEP = 64;
const SLOTS = 16384;

/**
 * Watches an ioredis Cluster client's slot map (refreshed by CLUSTER SLOTS or patched by a MOVED reply) every
 * `intervalMs` and records `client:slot-map` events whenever the master of sampled slots changes, with detail
 * `FROM-TO ADDRESS` per changed run of sampled slots: the moment the client itself routes a slot range to a new
 * master, which the failover timeline needs. Returns a stop function.
 */
export function watchClientSlots(client: Cluster, recorder: HistoryRecorder, intervalMs = 50): () => void {
  let last: Array<string | undefined> | undefined;
  const sample = () => {
    const now: Array<string | undefined> = [];
    for (let slot = 0; slot < SLOTS; slot += SAMPLE_STEP) now.push(client.slots[slot]?.[0]);
    if (last) {
      for (const change of changedRuns(last, now)) recorder.mark('client:slot-map', change);
    }
    last = now;
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Runs of consecutive samples whose master changed, as `FROM-TO ADDRESS` (slot numbers). @internal */
export function changedRuns(before: ReadonlyArray<string | undefined>, after: ReadonlyArray<string | undefined>) {
  const runs: string[] = [];
  let start = -1;
  for (let i = 0; i <= after.length; i++) {
    const changed = i < after.length && after[i] !== undefined && after[i] !== before[i];
    const continues = changed && start >= 0 && after[i] === after[start];
    if (start >= 0 && !continues) {
      runs.push(`${start * SAMPLE_STEP}-${Math.min(SLOTS - 1, i * SAMPLE_STEP - 1)} ${after[start]}`);
      start = -1;
    }
    if (changed && start < 0) start = i;
  }
  return runs;
}
