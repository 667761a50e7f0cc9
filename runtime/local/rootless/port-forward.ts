/**
 * Host access to a Redis Cluster of the local runtime, as `kubectl port-forward` gives it on kind: one local port per
 * member, and the cluster's announced addresses (`IP:6379`, what CLUSTER SLOTS and MOVED name) mapped to them for the
 * client, as ioredis's `natMap` does for a cluster behind NAT. A connection to a local port reaches the member's
 * CURRENT address (a recreated pod's new IP); the natMap follows the members as they move.
 * As root the host is on the pod network and connects directly; in the non-root mode through a relay inside the
 * runtime's namespace (relay.ts).
 * @see https://redis.github.io/ioredis/interfaces/ClusterOptions.html#natMap
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pollUntil } from '../../process/index.ts';
import { liveSupervisor } from '../cleanup.ts';
import { control } from '../control.ts';
import { LocalRuntimeError } from '../errors.ts';
import { statePaths } from '../state.ts';
import type { RuntimeStatus } from '../status.ts';
import { enterArgv, namespaceEnv, needsNamespace } from './namespace.ts';

/** Options of {@link portForward}. */
export interface PortForwardOptions {
  readonly stateDir: string;
  /** The local address to listen on. @default '127.0.0.1' */
  readonly address?: string;
  /** The first local port (members get consecutive ones); 0 picks free ports. @default 0 */
  readonly basePort?: number;
  /** The members' port. @default 6379 */
  readonly port?: number;
  /** How often the members' addresses are read from the supervisor. @default 1000 */
  readonly refreshMs?: number;
}

/** One forwarded member. */
export interface ForwardedMember {
  readonly pod: string;
  /** The member's current address on the pod network. */
  ip: string | null;
  readonly localPort: number;
}

/** A running port-forward; `close` stops the listeners (and the relay). */
export interface PortForward {
  readonly address: string;
  readonly members: readonly ForwardedMember[];
  /** For ioredis `Cluster` (`natMap`): an announced `IP:port` to the local address that reaches it, or null. */
  readonly natMap: (key: string) => { host: string; port: number } | null;
  /** The natMap as an object, as of now (to print, or for clients that take only objects). */
  natMapObject(): Record<string, { host: string; port: number }>;
  /** Seeds for the cluster client: every member's local address. */
  seeds(): Array<{ host: string; port: number }>;
  close(): Promise<void>;
}

function statusOf(stateDir: string): Promise<RuntimeStatus> {
  return control<RuntimeStatus>(statePaths(stateDir).socket, { verb: 'status' }, 30_000);
}

/** The relay inside the namespace, listening on a unix socket of the state dir. */
async function startRelay(stateDir: string): Promise<{ socket: string; child: ChildProcess }> {
  const pid = liveSupervisor(stateDir);
  if (pid === undefined) {
    throw new LocalRuntimeError(
      'E_NOT_UP',
      `no local runtime is up in ${statePaths(stateDir).root}; run 'slotforge up'`,
    );
  }
  const socket = `${statePaths(stateDir).root}/port-forward-${process.pid}.sock`;
  const script = fileURLToPath(new URL('./relay.ts', import.meta.url));
  const argv = enterArgv(pid, [
    process.execPath,
    '--conditions=slotforge-source',
    '--import',
    import.meta.resolve('tsx'),
    script,
    socket,
  ]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'inherit'], env: namespaceEnv() });
  await pollUntil(() => existsSync(socket) || child.exitCode !== null, {
    description: 'the port-forward relay to listen',
    timeoutMs: 20_000,
    intervalMs: 50,
  });
  if (child.exitCode !== null)
    throw new LocalRuntimeError('E_CONTROL', `the port-forward relay exited (${child.exitCode})`);
  return { socket, child };
}

function listen(server: Server, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/**
 * Forwards a local port to each member of every Redis Cluster of the runtime of `stateDir` (the pods whose role is
 * master or replica in a cluster), until `close`.
 */
export async function portForward(options: PortForwardOptions): Promise<PortForward> {
  const address = options.address ?? '127.0.0.1';
  const port = options.port ?? 6379;
  const first = await statusOf(options.stateDir);
  const names = [...new Set(first.clusters.flatMap((c) => c.members))].sort();
  if (names.length === 0) {
    throw new LocalRuntimeError('E_NOT_UP', `no Redis Cluster member is up in ${statePaths(options.stateDir).root}`);
  }
  const relay = needsNamespace() ? await startRelay(options.stateDir) : undefined;
  const ipOf = (status: RuntimeStatus, pod: string) => status.pods.find((p) => p.name === pod)?.ip ?? null;
  const members: ForwardedMember[] = [];
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  for (const [i, pod] of names.entries()) {
    const member: { pod: string; ip: string | null; localPort: number } = { pod, ip: ipOf(first, pod), localPort: 0 };
    const server = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      const upstream = relay ? createConnection(relay.socket) : createConnection({ host: member.ip ?? '', port });
      // The relay's header goes first: writes before the connection is up are queued in order, and the client's
      // first bytes (AUTH) may already be on their way.
      if (relay) upstream.write(`${member.ip} ${port}\n`);
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) {
        s.on('error', close);
        s.on('close', close);
      }
      client.pipe(upstream).pipe(client);
    });
    member.localPort = await listen(server, options.basePort ? options.basePort + i : 0, address);
    servers.push(server);
    members.push(member);
  }
  const refresh = setInterval(() => {
    statusOf(options.stateDir).then(
      (status) => {
        for (const m of members) m.ip = ipOf(status, m.pod) ?? m.ip;
      },
      () => undefined,
    );
  }, options.refreshMs ?? 1000);
  const local = (m: ForwardedMember) => ({ host: address, port: m.localPort });
  return {
    address,
    members,
    natMap: (key) => {
      const m = members.find((x) => `${x.ip}:${port}` === key);
      return m ? local(m) : null;
    },
    natMapObject: () => Object.fromEntries(members.filter((m) => m.ip).map((m) => [`${m.ip}:${port}`, local(m)])),
    seeds: () => members.map(local),
    close: async () => {
      clearInterval(refresh);
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      if (relay) {
        relay.child.kill('SIGTERM');
        rmSync(relay.socket, { force: true });
      }
    },
  };
}
