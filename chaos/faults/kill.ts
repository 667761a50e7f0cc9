import { type Fault, type FaultEffect, pickMaster } from '../scenario.ts';
import type { ChaosTarget } from '../target.ts';

/** SIGKILL the first master serving slots; operations on its slots are the affected ones. */
export function killMaster(): Fault {
  return {
    async inject(target, ctx) {
      const master = pickMaster(await target.pods());
      await target.kill(master.name);
      ctx?.mark('fault:start', `SIGKILL ${master.name}`);
      return { pods: [master.name], affectedSlots: master.slots, description: `SIGKILL master ${master.name}` };
    },
    heal: async () => {},
  };
}

/** SIGKILL one replica: nothing should notice. */
export function killReplica(): Fault {
  return {
    async inject(target) {
      const replica = (await target.pods())
        .sort((a, b) => a.name.localeCompare(b.name))
        .find((p) => p.role === 'replica');
      if (!replica) throw new Error('no replica to kill');
      await target.kill(replica.name);
      return { pods: [replica.name], affectedSlots: [], description: `SIGKILL replica ${replica.name}` };
    },
    heal: async () => {},
  };
}

/** SIGKILL a master and all its replicas at once: that shard is lost until they return; the others keep serving. */
export function killShard(): Fault {
  return {
    async inject(target, ctx) {
      const pods = await target.pods();
      const master = pickMaster(pods);
      const members = [master.name, ...pods.filter((p) => p.masterOf === master.name).map((p) => p.name)];
      // Both ends of the kill are marked: writes acknowledged just before it may be lost (EVERYSEC_UNWRITTEN_MS).
      ctx?.mark('kill:sent', members.join(', '));
      await Promise.all(members.map((pod) => target.kill(pod)));
      ctx?.mark('fault:start', `SIGKILL ${members.join(', ')}`);
      return {
        pods: members,
        affectedSlots: master.slots,
        description: `SIGKILL shard of ${master.name}: ${members.join(', ')}`,
      };
    },
    heal: async () => {},
  };
}

/** SIGSTOP a master for `pauseMs` (longer than the node timeout, so its replica takes over), then SIGCONT. */
export function pauseMaster(pauseMs: (target: ChaosTarget) => Promise<number>): Fault {
  let paused: string | undefined;
  return {
    async inject(target, ctx): Promise<FaultEffect> {
      const master = pickMaster(await target.pods());
      // Asked before the pause: the paused master may be the one a target would ask.
      const ms = await pauseMs(target);
      await target.pause(master.name);
      ctx?.mark('fault:start', `SIGSTOP ${master.name}`);
      paused = master.name;
      await new Promise((resolve) => setTimeout(resolve, ms));
      await target.resume(master.name);
      ctx?.mark('fault:end', `SIGCONT ${master.name}`);
      paused = undefined;
      return {
        pods: [master.name],
        affectedSlots: master.slots,
        description: `SIGSTOP master ${master.name} for ${ms} ms`,
      };
    },
    async heal(target) {
      if (paused) await target.resume(paused);
      paused = undefined;
    },
  };
}

/** Options of {@link stallMembers}. */
export interface StallMembersOptions {
  /** Stall rounds. */
  readonly rounds: number;
  /** Members stalled at once per round (a master and replicas of other shards, by name order). */
  readonly members: number;
  /** How long each stall lasts beyond the node timeout. */
  readonly beyondNodeTimeoutMs: number;
  /** Pause between rounds, the members running. */
  readonly gapMs: number;
}

/**
 * SIGSTOP several members past the node timeout, SIGCONT them, and again, round after round: what CPU throttling, a
 * long fork or an overloaded node looks like to the cluster (flagged fail, then back). Each round stalls a master
 * and replicas of other shards, so the shard keeps a member, the cluster fails over and the stalled master returns
 * as a replica. Healthy members must not be forgotten by the healer and the cluster must converge.
 */
export function stallMembers(options: StallMembersOptions): Fault {
  let stalled: string[] = [];
  const resumeAll = async (target: ChaosTarget) => {
    await Promise.all(stalled.map((pod) => target.resume(pod)));
    stalled = [];
  };
  return {
    async inject(target, ctx): Promise<FaultEffect> {
      const stallMs = (await target.nodeTimeoutMs()) + options.beyondNodeTimeoutMs;
      const hit = new Set<string>();
      for (let round = 0; round < options.rounds; round++) {
        const pods = await target.pods();
        const master = pickMaster(pods);
        const replicas = pods
          .filter((p) => p.role === 'replica' && p.masterOf !== master.name)
          .sort((a, b) => a.name.localeCompare(b.name))
          .slice(round % 2, (round % 2) + options.members - 1);
        stalled = [master.name, ...replicas.map((p) => p.name)];
        for (const pod of stalled) hit.add(pod);
        await Promise.all(stalled.map((pod) => target.pause(pod)));
        if (round === 0) ctx?.mark('fault:start', `SIGSTOP ${stalled.join(', ')}`);
        ctx?.mark('stall', `round ${round + 1}: ${stalled.join(', ')} for ${stallMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, stallMs));
        await resumeAll(target);
        await new Promise((resolve) => setTimeout(resolve, options.gapMs));
      }
      ctx?.mark('fault:end', `${options.rounds} rounds`);
      return {
        pods: [...hit],
        affectedSlots: [],
        description: `${options.rounds} rounds of SIGSTOP of ${options.members} members for node timeout + ${options.beyondNodeTimeoutMs} ms`,
      };
    },
    heal: resumeAll,
  };
}
