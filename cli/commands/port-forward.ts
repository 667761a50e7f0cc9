import type { Command } from 'commander';
import { portForward } from '../../runtime/local/index.ts';
import { untilSignal } from './up.ts';

/** Options of `slotforge port-forward`. */
export interface PortForwardFlags {
  readonly address: string;
  readonly basePort?: number;
  readonly json: boolean;
}

/**
 * `slotforge port-forward`: a local port per Redis Cluster member and the natMap a client needs, until Ctrl-C (as
 * `kubectl port-forward` on kind; the cluster's redirects name pod addresses, which the natMap maps to these ports).
 */
export async function runPortForward(stateDir: string, flags: PortForwardFlags): Promise<void> {
  const forward = await portForward({ stateDir, address: flags.address, basePort: flags.basePort });
  if (flags.json) {
    console.log(JSON.stringify({ members: forward.members, natMap: forward.natMapObject() }));
  } else {
    for (const m of forward.members) console.log(`${forward.address}:${m.localPort} -> ${m.pod} (${m.ip}:6379)`);
    console.log(`natMap for ioredis Cluster (also in --json): ${JSON.stringify(forward.natMapObject())}`);
    console.log(
      `e.g. new Cluster([{ host: '${forward.address}', port: ${forward.members[0]?.localPort} }], { natMap, redisOptions: { username, password } })`,
    );
    console.log('forwarding until Ctrl-C');
  }
  await untilSignal();
  await forward.close();
}

/** Registers `port-forward`. */
export function registerPortForward(program: Command, stateDir: () => string, parsePort: (raw: string) => number) {
  program
    .command('port-forward')
    .description(
      "a local port per Redis Cluster member, with the natMap (ioredis) that maps the cluster's announced addresses to them; the way in from the host in the non-root mode",
    )
    .option('--address <ip>', 'local address to listen on', '127.0.0.1')
    .option('--base-port <n>', 'first local port (members get consecutive ones; default: free ports)', parsePort)
    .option('--json', 'print the ports and the natMap as one JSON line', false)
    .action((flags: PortForwardFlags) => runPortForward(stateDir(), flags));
}
