import { LocalRuntimeError } from './errors.ts';
import type { BlockRule, BridgeNetwork } from './network.ts';
import type { Pod } from './pod.ts';

/**
 * A network partition: no packet between any pod of `a` and any pod of `b`, or with `ports` no TCP/UDP packet to or
 * from those ports (the Redis Cluster bus, 16379, alone).
 */
export interface Partition {
  readonly a: readonly string[];
  readonly b: readonly string[];
  readonly ports?: readonly number[];
}

/** Options of {@link LocalRuntime.partition}. */
export interface PartitionOptions {
  /**
   * Cut only these ports, in both directions and on both ends (a connection to a peer's port, a peer's connection to
   * ours, and their replies): `[16379]` cuts the Redis Cluster bus while clients still reach 6379.
   * @default every packet
   */
  readonly ports?: readonly number[];
}

/** Throws E_CONTROL naming the rule when `ports` is given but is not a non-empty list of TCP/UDP ports. */
export function checkPartitionPorts(ports: readonly number[] | undefined): void {
  if (ports === undefined) return;
  const bad = ports.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
  if (ports.length === 0 || bad !== undefined) {
    throw new LocalRuntimeError(
      'E_CONTROL',
      `partition: ports must list integers from 1 to 65535 (got ${ports.length === 0 ? 'an empty list' : JSON.stringify(bad)}); leave it out to drop every packet`,
    );
  }
}

/**
 * The partitions in force, by pod name (they follow pods across recreation), and their nft drop rules in every pod
 * namespace. {@link PartitionTable.enforce} installs the rules of each pod whose set changed; calls are serialized.
 */
export class PartitionTable {
  readonly #partitions: Partition[] = [];
  /** Per pod namespace, the rules last installed (JSON). */
  readonly #applied = new Map<string, string>();
  #applying: Promise<void> = Promise.resolve();

  constructor(
    readonly network: BridgeNetwork,
    readonly pods: () => Pod[],
    readonly event: (object: string, message: string) => void,
  ) {}

  /** The partitions in force. */
  list(): Partition[] {
    return [...this.#partitions];
  }

  add(partition: Partition): void {
    this.#partitions.push(partition);
  }

  clear(): void {
    this.#partitions.splice(0);
  }

  /** Installs the drop rules of every pod whose rules changed; resolves once they are in place. */
  enforce(): Promise<void> {
    this.#applying = this.#applying.then(async () => {
      const ipOf = new Map(
        this.pods().flatMap((p) => (p.ip && p.phase !== 'Deleted' ? [[p.name, p.ip] as const] : [])),
      );
      for (const pod of this.pods()) {
        const net = pod.net;
        if (!net || pod.phase === 'Deleted') continue;
        // Per peer address: every packet (`all`) or the union of the ports of the partitions that name it.
        const blocked = new Map<string, Set<number> | 'all'>();
        for (const { a, b, ports } of this.#partitions) {
          const other = a.includes(pod.name) ? b : b.includes(pod.name) ? a : [];
          for (const name of other) {
            const address = ipOf.get(name);
            if (!address) continue;
            const seen = blocked.get(address);
            if (!ports) blocked.set(address, 'all');
            else if (seen !== 'all') blocked.set(address, new Set([...(seen ?? []), ...ports]));
          }
        }
        const rules: BlockRule[] = [...blocked.keys()].sort().map((address) => {
          const ports = blocked.get(address)!;
          return ports === 'all' ? { address } : { address, ports: [...ports].sort((x, y) => x - y) };
        });
        const key = JSON.stringify(rules);
        if ((this.#applied.get(net.netns) ?? '[]') === key) continue;
        try {
          await this.network.setBlocked(net, rules);
          this.#applied.set(net.netns, key);
        } catch (error) {
          this.event(`pod/${pod.name}`, `could not apply partition rules: ${(error as Error).message}`);
        }
      }
    });
    return this.#applying;
  }
}
