import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import ora from 'ora';
import { ProcessRegistry } from '../../runtime/process/index.ts';
import { type LocalCluster, readNodeStatus, startLocalCluster } from '../../runtime/redis/index.ts';
import { cleanState, livePids, readState, statePaths, writeState } from '../state.ts';
import { renderStatusTable } from '../table.ts';

/** Options of `slotforge up`. */
export interface UpOptions {
  readonly stateDir: string;
  readonly detach: boolean;
  readonly shards: number;
  readonly replicas: number;
  readonly json: boolean;
}

/** Parses a CLI integer option, naming the option and the rule when it is wrong. */
export function parseCount(name: string, min: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`option --${name} must be an integer >= ${min} (got '${raw}')`);
    }
    return value;
  };
}

/**
 * Starts a local Redis Cluster with auth on, records it in the state dir, prints its status, then either returns
 * (`--detach`; the processes keep running) or stays until SIGINT/SIGTERM and stops everything it started.
 */
export async function up(options: UpOptions): Promise<LocalCluster> {
  const paths = statePaths(options.stateDir);
  const previous = readState(options.stateDir);
  if (previous && livePids(previous).length > 0) {
    throw new Error(
      `a local deployment is already up in ${paths.root} (${livePids(previous).length} processes); run 'slotforge down' first`,
    );
  }
  // Leftovers of an `up` that died half-way (or a stale state file): reap them before starting again.
  cleanState(options.stateDir);
  mkdirSync(paths.data, { recursive: true });
  const password = randomBytes(24).toString('base64url');
  writeFileSync(paths.passwordFile, password, { mode: 0o600 });

  const spinner = ora({ text: 'starting the local Redis Cluster', isSilent: options.json }).start();
  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({
      dir: paths.data,
      shards: options.shards,
      replicasPerShard: options.replicas,
      password,
      registry: new ProcessRegistry(paths.registry),
      keepAlive: options.detach,
      onProgress: (step) => {
        spinner.text = step;
      },
    });
  } catch (error) {
    spinner.fail(`the local Redis Cluster did not come up: ${(error as Error).message}`);
    cleanState(options.stateDir);
    throw error;
  }
  spinner.succeed(`Redis Cluster up: ${options.shards} masters, ${options.replicas} replica(s) each, auth on`);
  const nodes = cluster.nodes.map((n, i) => ({
    name: `redis-${i}`,
    host: n.host,
    port: n.port,
    dir: n.dir,
    pid: n.process.pid,
  }));
  writeState(options.stateDir, {
    kind: 'cluster',
    createdAt: new Date().toISOString(),
    passwordFile: paths.passwordFile,
    nodes,
  });
  const rows = await readNodeStatus(cluster.nodes.map((server, i) => ({ name: `redis-${i}`, server })));
  if (options.json) {
    console.log(JSON.stringify({ stateDir: paths.root, nodes: rows }, null, 2));
  } else {
    console.log(renderStatusTable(rows));
    console.log(
      `password: ${paths.passwordFile} (mode 0600)   seeds: ${cluster
        .seeds()
        .map((s) => `${s.host}:${s.port}`)
        .join(' ')}`,
    );
  }
  return cluster;
}

/** Resolves when the process receives SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

/** Stops the cluster started by {@link up} in this process and removes the state dir. */
export async function stopForeground(cluster: LocalCluster, stateDir: string): Promise<void> {
  const spinner = ora('stopping the local Redis Cluster').start();
  await cluster.stop();
  cleanState(stateDir);
  spinner.succeed('stopped; nothing left running');
}
