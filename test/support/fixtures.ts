import { rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import {
  type LocalCluster,
  type LocalClusterOptions,
  type LocalSentinel,
  type LocalSentinelOptions,
  type RedisServer,
  type RedisServerOptions,
  startLocalCluster,
  startLocalSentinel,
  startRedisServer,
} from '../../runtime/redis/index.ts';
import { assertContainerEngine, containerLauncher } from './container.ts';
import { harnessRegistry, harnessTempDir } from './harness-root.ts';

type Omitted = 'dir' | 'registry';
export type StandaloneFixtureOptions = Omit<RedisServerOptions, Omitted>;
export type ClusterFixtureOptions = Omit<LocalClusterOptions, Omitted>;
export type SentinelFixtureOptions = Omit<LocalSentinelOptions, Omitted>;

/** Returns the deployment started in `beforeAll`; throws when called before it is ready. */
export type Fixture<T> = () => T;

const started = new Map<string, Fixture<unknown>>();

/** Which backend starts the processes: local redis-server processes (default) or testcontainers. */
export function fixtureMode(): 'process' | 'container' {
  const mode = process.env.REDIS_FIXTURE ?? 'process';
  if (mode !== 'process' && mode !== 'container') {
    throw new Error(`REDIS_FIXTURE must be 'process' or 'container' (got '${mode}')`);
  }
  return mode;
}

/**
 * Registers `beforeAll`/`afterAll` hooks that start a deployment once per test file and configuration and always
 * stop it and remove its temp dir, also when a test fails or times out.
 */
function useDeployment<T extends { stop(): Promise<void> }>(
  kind: string,
  options: object,
  start: (dir: string) => Promise<T>,
): Fixture<T> {
  const key = `${kind}:${JSON.stringify(options)}`;
  const existing = started.get(key);
  if (existing) return existing as Fixture<T>;
  let deployment: T | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    if (fixtureMode() === 'container') await assertContainerEngine();
    dir = harnessTempDir(kind);
    deployment = await start(dir);
  }, 120_000);
  afterAll(async () => {
    try {
      await deployment?.stop();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
  const fixture: Fixture<T> = () => {
    if (!deployment) throw new Error(`${kind} fixture used outside a test (it starts in beforeAll)`);
    return deployment;
  };
  started.set(key, fixture);
  return fixture;
}

/** The launcher of the selected mode; undefined selects local processes. */
function launcher() {
  return fixtureMode() === 'container' ? containerLauncher : undefined;
}

/** One redis-server, started once for this test file. */
export function useStandalone(options: StandaloneFixtureOptions = {}): Fixture<RedisServer> {
  return useDeployment('standalone', options, (dir) =>
    startRedisServer({ ...options, dir, registry: harnessRegistry(), launcher: launcher() }),
  );
}

/** A Redis Cluster of `shards` masters with `replicasPerShard` replicas each, started once for this test file. */
export function useCluster(options: ClusterFixtureOptions = {}): Fixture<LocalCluster> {
  return useDeployment('cluster', options, (dir) =>
    startLocalCluster({ ...options, dir, registry: harnessRegistry(), launcher: launcher() }),
  );
}

/** A primary with replicas and sentinels, started once for this test file. */
export function useSentinel(options: SentinelFixtureOptions = {}): Fixture<LocalSentinel> {
  return useDeployment('sentinel', options, (dir) =>
    startLocalSentinel({ ...options, dir, registry: harnessRegistry(), launcher: launcher() }),
  );
}
