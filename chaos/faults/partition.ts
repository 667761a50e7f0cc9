import { type Fault, pickMaster } from '../scenario.ts';
import { UnsupportedFaultError } from '../target.ts';

/** Options of {@link partitionMaster}. */
export interface PartitionMasterOptions {
  /** Cut only the cluster bus (client port + 10000); clients still reach the master. @default false */
  readonly busOnly?: boolean;
  /** How long the partition holds. */
  readonly holdMs: number;
  /** Hold instead for the deployment's node timeout (down-after for Sentinel) plus this, so a failover happens first. */
  readonly holdBeyondNodeTimeoutMs?: number;
}

/** Cut a master off from every other pod (or only its cluster bus), hold it, then heal. */
export function partitionMaster(options: PartitionMasterOptions): Fault {
  return {
    async inject(target, ctx) {
      if (!target.partition) throw new UnsupportedFaultError(target.name, 'partition');
      const pods = await target.pods();
      const master = pickMaster(pods);
      const others = pods.filter((p) => p.name !== master.name).map((p) => p.name);
      const holdMs =
        options.holdBeyondNodeTimeoutMs === undefined
          ? options.holdMs
          : (await target.nodeTimeoutMs()) + options.holdBeyondNodeTimeoutMs;
      // The runtime applies the rules pod by pod (the partitioned pod's own first): the partition is in force from
      // about the start of the call; `fault:applied` says when the last rule was in place.
      ctx?.mark('fault:start', `partitioning ${master.name}`);
      await target.partition([master.name], others, { busOnly: options.busOnly ?? false });
      ctx?.mark('fault:applied', `partitioned ${master.name}`);
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      return {
        pods: [master.name],
        affectedSlots: master.slots,
        description: `partitioned ${options.busOnly ? 'the cluster bus of ' : ''}master ${master.name} for ${holdMs} ms`,
      };
    },
    async heal(target, ctx) {
      await target.heal?.();
      ctx?.mark('fault:end', 'healed');
    },
  };
}
