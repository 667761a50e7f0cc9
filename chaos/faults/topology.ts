import type { Fault } from '../scenario.ts';
import { type ChaosTarget, UnsupportedFaultError } from '../target.ts';

/** Moves `slots` slots between two masters while the workloads run. */
export function reshard(slots: number): Fault {
  return {
    async inject(target) {
      if (!target.reshard) throw new UnsupportedFaultError(target.name, 'reshard');
      await target.reshard(slots);
      return { pods: [], affectedSlots: [], description: `resharded ${slots} slots between two masters` };
    },
    heal: async () => {},
  };
}

/** Scales the cluster to `shards` shards while the workloads run. */
export function scaleTo(shards: number): Fault {
  return {
    async inject(target) {
      await scale(target, shards);
      return { pods: [], affectedSlots: [], description: `scaled to ${shards} shards` };
    },
    heal: async () => {},
  };
}

/** Calls the target's scale verb, or names what is missing. */
export async function scale(target: ChaosTarget, shards: number): Promise<void> {
  if (!target.scale) throw new UnsupportedFaultError(target.name, 'scale');
  await target.scale(shards);
}
