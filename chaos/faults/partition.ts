import { type Fault, pickMaster } from '../scenario.ts';
import { UnsupportedFaultError } from '../target.ts';

/** Cut a master off from every other pod (or only its cluster bus), hold it, then heal. */
export function partitionMaster(options: { busOnly?: boolean; holdMs: number }): Fault {
  return {
    async inject(target) {
      if (!target.partition) throw new UnsupportedFaultError(target.name, 'partition');
      const pods = await target.pods();
      const master = pickMaster(pods);
      const others = pods.filter((p) => p.name !== master.name).map((p) => p.name);
      await target.partition([master.name], others, { busOnly: options.busOnly ?? false });
      await new Promise((resolve) => setTimeout(resolve, options.holdMs));
      return {
        pods: [master.name],
        affectedSlots: master.slots,
        description: `partitioned ${options.busOnly ? 'the cluster bus of ' : ''}master ${master.name} for ${options.holdMs} ms`,
      };
    },
    async heal(target) {
      await target.heal?.();
    },
  };
}
