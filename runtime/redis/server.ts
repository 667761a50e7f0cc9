import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { imageProgram } from '../images/index.ts';
import type { ProcessRegistry } from '../process/index.ts';
import { type Launcher, type ProcessHandle, pollUntil, startProcess } from '../process/index.ts';
import { freeRedisPort } from './ports.ts';

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Working dir (data, logs, nodes.conf); created when missing. */
  readonly dir: string;
  /** @default a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** requirepass and masterauth; no auth when absent. */
  readonly password?: string;
  /** Extra directives as `--name value` pairs, e.g. `{ 'cluster-enabled': 'yes' }`. */
  readonly config?: Readonly<Record<string, string>>;
  /** Host path of the program. @default the redis image's redis-server (runtime/images) */
  readonly binary?: string;
  /** A config file passed before the directives (redis-sentinel needs one it can rewrite). */
  readonly configFile?: string;
  readonly registry?: ProcessRegistry;
  /** How the process is started. @default startProcess (a local child process) */
  readonly launcher?: Launcher;
  /** Keep running after our process exits (`up --detach`). @default false */
  readonly keepAlive?: boolean;
  /** @default 10000 */
  readonly startTimeoutMs?: number;
}

/** A running redis-server (or redis-sentinel) process. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ProcessHandle;
  readonly password: string | undefined;
  /** A new ioredis connection to this server; the caller quits it. */
  connect(): Redis;
  /** SIGTERM then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts redis-server with the given directives and waits until it answers PING. */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freeRedisPort(host));
  mkdirSync(options.dir, { recursive: true });
  const directives: Record<string, string> = {
    port: String(port),
    bind: host,
    dir: options.dir,
    daemonize: 'no',
    save: '',
    appendonly: 'no',
    logfile: join(options.dir, 'redis.log'),
    // Redis rewrites its command line; keep the dir in it so leftovers can be found by path (findProcesses).
    'proc-title-template': `{title} {listen-addr} {server-mode} dir=${options.dir}`,
    ...(options.password && !options.configFile ? { requirepass: options.password, masterauth: options.password } : {}),
    ...options.config,
  };
  const args = [
    ...(options.configFile ? [options.configFile] : []),
    ...Object.entries(directives).flatMap(([name, value]) => [`--${name}`, value]),
  ];
  const launch = options.launcher ?? startProcess;
  const proc = await launch({
    command: options.binary ?? imageProgram('redis-server'),
    args,
    cwd: options.dir,
    logFile: join(options.dir, 'stdout.log'),
    registry: options.registry,
    marker: `${host}:${port}`,
    keepAlive: options.keepAlive,
  });
  const server: RedisServer = {
    host,
    port,
    dir: options.dir,
    process: proc,
    password: options.password,
    connect: serverRef(host, port, options.password).connect,
    stop: (graceMs) => proc.stop(graceMs),
  };
  try {
    await pollUntil(
      async () => {
        if (!proc.running) throw new Error(`redis on ${host}:${port} exited; see ${options.dir}/redis.log`);
        return (await ping(server)) === 'PONG';
      },
      { description: `redis on ${host}:${port} to answer PING`, timeoutMs: options.startTimeoutMs ?? 10_000 },
    );
  } catch (error) {
    await proc.kill();
    throw error;
  }
  return server;
}

/** What admin helpers need of a server: where it is and how to reach it. */
export type ServerRef = Pick<RedisServer, 'host' | 'port' | 'connect'>;

/** A reference to a server we did not start ourselves (e.g. one recorded by `up` in another process). */
export function serverRef(host: string, port: number, password?: string): ServerRef {
  return {
    host,
    port,
    // Admin connections fail fast: one attempt, no reconnect, so a dead node is reported rather than waited for.
    connect: () => new Redis({ host, port, password, maxRetriesPerRequest: 1, retryStrategy: () => null }),
  };
}

/** One PING over a short-lived connection; throws when the server does not answer. */
export async function ping(server: Pick<RedisServer, 'connect'>): Promise<string> {
  const client = server.connect();
  client.on('error', () => {});
  try {
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

/** Runs one command over a short-lived connection. */
export async function command(server: Pick<RedisServer, 'connect'>, name: string, ...args: Array<string | number>) {
  const client = server.connect();
  client.on('error', () => {});
  try {
    return await client.call(name, ...args);
  } finally {
    client.disconnect();
  }
}
