import { readFileSync, writeFileSync } from 'node:fs';
import { run, runOk } from '../process/index.ts';
import { LocalRuntimeError } from './errors.ts';

/** Where a pod's network lives: its namespace, the root-side veth and its address. */
export interface PodNet {
  readonly netns: string;
  readonly veth: string;
  readonly ip: string;
}

/** Every name this module creates starts with the runtime's prefix, so leftovers are found by name. */
export function netNames(prefix: string, seq: number) {
  return { netns: `${prefix}-${seq}`, veth: `${prefix}h${seq}`, peer: `${prefix}p${seq}` };
}

/** What {@link BridgeNetwork.setBlocked} drops for one peer address: everything, or only the listed ports. */
export interface BlockRule {
  readonly address: string;
  /** TCP/UDP ports (either end of a packet); absent or empty means every packet. */
  readonly ports?: readonly number[];
}

const ip = (args: string[]) => runOk('ip', args, { timeoutMs: 10_000 });

/**
 * The kernel's neighbour (ARP) table is one table for every network namespace of the machine, capped by
 * `net.ipv4.neigh.default.gc_thresh3` (1024 by default). Each pod keeps an entry per peer it talks to, so a Redis
 * Cluster of n members needs about n x n entries: at 30 shards x 1 replica (60 members, 3600 entries) the kernel logged
 * "neighbor table overflow", new peers were never resolved, their cluster-bus handshakes never finished and the
 * cluster never formed. Kubernetes nodes that run many pods raise these limits for the same reason. Raised here (never
 * lowered; the setting is the machine's and stays) to what a full /24 of pods needs: 253 x 254 entries.
 */
export const NEIGHBOUR_LIMITS = { gc_thresh1: 16_384, gc_thresh2: 32_768, gc_thresh3: 65_536 } as const;

/**
 * Raises the machine's neighbour-table limits to NEIGHBOUR_LIMITS where lower. Returns one line per limit it raised,
 * or could not read or raise (without root, in the runtime's own user and network namespace, the machine's settings
 * are not visible), with the command that raises it.
 */
export function raiseNeighbourLimits(dir = '/proc/sys/net/ipv4/neigh/default'): string[] {
  const said: string[] = [];
  for (const [name, wanted] of Object.entries(NEIGHBOUR_LIMITS)) {
    const path = `${dir}/${name}`;
    let current: number | undefined;
    try {
      current = Number(readFileSync(path, 'utf8').trim());
      if (current >= wanted) continue;
      writeFileSync(path, `${wanted}\n`);
      said.push(`raised net.ipv4.neigh.default.${name} ${current} -> ${wanted}`);
    } catch (error) {
      said.push(
        `could not ${current === undefined ? 'read' : `raise (now ${current})`} net.ipv4.neigh.default.${name}: ` +
          `${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; a cluster of more than about 30 ` +
          `members may not form: run \`sudo sysctl -w net.ipv4.neigh.default.${name}=${wanted}\``,
      );
    }
  }
  return said;
}

/**
 * The pods' network: a bridge `<prefix>br` with the host at `<subnet>.1/24`, and per pod incarnation a network
 * namespace `<prefix>-<seq>` joined to it by a veth pair (`<prefix>h<seq>` on the host side, `eth0` inside) with an
 * address of its own. Needs root (CAP_NET_ADMIN).
 * @see https://man7.org/linux/man-pages/man8/ip-netns.8.html
 */
export class BridgeNetwork {
  readonly bridge: string;
  readonly #inUse = new Set<string>();
  #next = 2;

  constructor(
    readonly prefix: string,
    /** The first three octets, e.g. `10.231.7`. */
    readonly subnet: string,
  ) {
    this.bridge = `${prefix}br`;
  }

  get hostIp(): string {
    return `${this.subnet}.1`;
  }

  /** Creates the bridge with the host address (the gateway of every pod); returns what raiseNeighbourLimits said. */
  async setup(): Promise<string[]> {
    const raised = raiseNeighbourLimits();
    try {
      await ip(['link', 'add', this.bridge, 'type', 'bridge']);
      await ip(['addr', 'add', `${this.hostIp}/24`, 'dev', this.bridge]);
      await ip(['link', 'set', this.bridge, 'up']);
    } catch (error) {
      throw new LocalRuntimeError('E_NETWORK', `could not create bridge ${this.bridge}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return raised;
  }

  /** A free address, never the one handed out just before: a recreated pod gets a NEW address, as on Kubernetes. */
  #allocate(): string {
    for (let i = 0; i < 253; i++) {
      const host = this.#next;
      this.#next = this.#next >= 254 ? 2 : this.#next + 1;
      const address = `${this.subnet}.${host}`;
      if (!this.#inUse.has(address)) {
        this.#inUse.add(address);
        return address;
      }
    }
    throw new LocalRuntimeError('E_NETWORK', `no free address left in ${this.subnet}.0/24 (253 pods)`);
  }

  /** Creates the namespace of pod incarnation `seq`, with `lo` and `eth0` up and the bridge as default route. */
  async addPod(seq: number): Promise<PodNet> {
    const { netns, veth, peer } = netNames(this.prefix, seq);
    const address = this.#allocate();
    try {
      await ip(['netns', 'add', netns]);
      await ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', peer]);
      await ip(['link', 'set', peer, 'netns', netns]);
      await ip(['link', 'set', veth, 'master', this.bridge, 'up']);
      await ip(['-n', netns, 'link', 'set', peer, 'name', 'eth0']);
      await ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', netns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', netns, 'route', 'add', 'default', 'via', this.hostIp]);
    } catch (error) {
      await removeNetns(netns, veth);
      this.#inUse.delete(address);
      throw new LocalRuntimeError('E_NETWORK', `could not create namespace ${netns}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return { netns, veth, ip: address };
  }

  /** Kills what still runs in the namespace, then removes the veth and the namespace (their nft rules go with it). */
  async removePod(net: PodNet): Promise<void> {
    await removeNetns(net.netns, net.veth);
    this.#inUse.delete(net.ip);
  }

  /**
   * Drops packets between the namespace and each rule's address, both ways (nft rules inside the namespace): every
   * packet, or with `ports` only TCP/UDP packets to or from those ports on either side (a connection to the peer's
   * port, the peer's connection to ours, and the replies of both), so a Redis Cluster bus (client port + 10000) can be
   * cut while the client port still answers. An empty list removes the rules.
   * @see https://wiki.nftables.org/wiki-nftables/index.php/Matching_packet_headers
   */
  async setBlocked(net: PodNet, blocked: readonly BlockRule[]): Promise<void> {
    const table = `${this.prefix}part`;
    if (blocked.length === 0) return replaceTable(net.netns, table, undefined);
    const input: string[] = [];
    const output: string[] = [];
    for (const rule of blocked) {
      if (!rule.ports || rule.ports.length === 0) {
        input.push(`    ip saddr ${rule.address} drop`);
        output.push(`    ip daddr ${rule.address} drop`);
        continue;
      }
      const ports = `{ ${rule.ports.join(', ')} }`;
      for (const side of ['dport', 'sport']) {
        input.push(`    ip saddr ${rule.address} meta l4proto { tcp, udp } th ${side} ${ports} drop`);
        output.push(`    ip daddr ${rule.address} meta l4proto { tcp, udp } th ${side} ${ports} drop`);
      }
    }
    await replaceTable(
      net.netns,
      table,
      [
        `table inet ${table} {`,
        '  chain input {',
        '    type filter hook input priority 0; policy accept;',
        ...input,
        '  }',
        '  chain output {',
        '    type filter hook output priority 0; policy accept;',
        ...output,
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  }

  /**
   * Installs the NetworkPolicy table of the pod (`<prefix>netpol`, rendered by `renderFirewall`), or removes it with
   * `undefined`; atomically, so a pod never runs without its rules while they change.
   */
  setPolicyTable(net: PodNet, script: string | undefined): Promise<void> {
    return replaceTable(net.netns, this.policyTable, script);
  }

  /** The name of the nft table of the NetworkPolicy rules inside each pod namespace. */
  get policyTable(): string {
    return `${this.prefix}netpol`;
  }

  async teardown(): Promise<void> {
    await run('ip', ['link', 'del', this.bridge]);
  }
}

/**
 * Replaces the nft table `inet <table>` of a namespace with `script` (which defines it), or deletes it, in one nft
 * transaction: declaring the table first makes the delete succeed when there is none, and the kernel applies the
 * whole file or nothing, so packets never see a state without rules.
 */
async function replaceTable(netns: string, table: string, script: string | undefined): Promise<void> {
  const input = `table inet ${table}\ndelete table inet ${table}\n${script ?? ''}`;
  await runOk('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input });
}

/** Pids of every process inside a network namespace. */
export async function netnsPids(netns: string): Promise<number[]> {
  const result = await run('ip', ['netns', 'pids', netns]);
  return result.stdout
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** Kills every process of the namespace (SIGKILL), deletes the root-side veth, then the namespace. */
export async function removeNetns(netns: string, veth: string | undefined): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pids = await netnsPids(netns);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (veth) await run('ip', ['link', 'del', veth]);
  await run('ip', ['netns', 'del', netns]);
}

/** What {@link sweepNetwork} found and removed. */
export interface SweepResult {
  readonly namespaces: string[];
  readonly links: string[];
}

/** Names of network namespaces that start with `prefix-`. */
export async function listNetns(prefix: string): Promise<string[]> {
  const result = await run('ip', ['netns', 'list']);
  return result.stdout
    .split('\n')
    .map((line) => line.trim().split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${prefix}-`));
}

/** Names of links (veths, the bridge) that start with `prefix`. */
export async function listLinks(prefix: string): Promise<string[]> {
  const result = await run('ip', ['-o', 'link', 'show']);
  const names: string[] = [];
  for (const line of result.stdout.split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name?.startsWith(prefix)) names.push(name);
  }
  return names;
}

/**
 * Removes every namespace and link whose name carries `prefix`, in the order that works (processes, veths,
 * namespaces, then the bridge): what a runtime that died left behind.
 */
export async function sweepNetwork(prefix: string): Promise<SweepResult> {
  const namespaces = await listNetns(prefix);
  for (const netns of namespaces) await removeNetns(netns, undefined);
  const links = await listLinks(prefix);
  const bridges = links.filter((name) => name.endsWith('br'));
  for (const link of links.filter((name) => !name.endsWith('br'))) await run('ip', ['link', 'del', link]);
  for (const link of bridges) await run('ip', ['link', 'del', link]);
  return { namespaces, links };
}

/** A /24 under 10.231.0.0/16 that no interface of this host uses, starting at `preferred`. */
export async function freeSubnet(preferred: number): Promise<string> {
  const result = await run('ip', ['-4', '-o', 'addr', 'show']);
  for (let i = 0; i < 250; i++) {
    const octet = ((preferred + i) % 250) + 2;
    const subnet = `10.231.${octet}`;
    if (!result.stdout.includes(` ${subnet}.`)) return subnet;
  }
  throw new LocalRuntimeError('E_NETWORK', 'every /24 of 10.231.0.0/16 is in use on this host');
}
