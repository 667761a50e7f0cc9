import { randomUUID } from 'node:crypto';
import { type ClientOptions, type ConnectionOptions, createClient, type SlotforgeClient } from '@slotforge/client';
import { afterEach, describe } from 'vitest';
import type { LocalCluster, LocalSentinel, RedisServer } from '../../../runtime/redis/index.ts';
import { type Fixture, useCluster, useSentinel, useStandalone } from '../../support/index.ts';

/**
 * The contract fixture: what a contract case gets, whatever the deployment.
 * `client()` opens a client in a fresh namespace (so cases never see each other's keys) and closes it after the test.
 */
export interface ContractFixture {
  readonly mode: 'standalone' | 'cluster' | 'sentinel';
  /** How to reach the deployment. */
  connection(): ConnectionOptions;
  /** A new client on the deployment, namespaced uniquely; closed after the test. */
  client(options?: Omit<ClientOptions, 'url' | 'host' | 'port' | 'cluster' | 'sentinel'>): SlotforgeClient;
}

/** A contract case group: registers `it(...)` blocks using the fixture. */
export type ContractCases = (fixture: ContractFixture) => void;

const PASSWORD = 'contract-secret';

function fixtureFor(mode: ContractFixture['mode'], connection: () => ConnectionOptions): ContractFixture {
  const clients: SlotforgeClient[] = [];
  // Closed after each test, so no connection (near-cache trackers, subscribers) outlives the test that opened it
  // and skews the next one's view of the server.
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  });
  return {
    mode,
    connection,
    client(options = {}) {
      const client = createClient({ ...connection(), namespace: `t${randomUUID().slice(0, 8)}`, ...options });
      clients.push(client);
      return client;
    },
  };
}

/** Standalone deployment for contract cases. */
export function standaloneContract(): ContractFixture {
  const server: Fixture<RedisServer> = useStandalone({ password: PASSWORD });
  return fixtureFor('standalone', () => ({ host: server().host, port: server().port, password: PASSWORD }));
}

/** Cluster deployment (3 masters, 1 replica each) for contract cases. */
export function clusterContract(): ContractFixture {
  const cluster: Fixture<LocalCluster> = useCluster({ shards: 3, replicasPerShard: 1, password: PASSWORD });
  return fixtureFor('cluster', () => ({
    cluster: {
      nodes: cluster()
        .nodes.slice(0, 3)
        .map((n) => ({ host: n.host, port: n.port })),
    },
    password: PASSWORD,
  }));
}

/** Sentinel deployment for contract cases. */
export function sentinelContract(): ContractFixture {
  const sentinel: Fixture<LocalSentinel> = useSentinel({ replicas: 1, sentinels: 3, password: PASSWORD });
  return fixtureFor('sentinel', () => ({
    sentinel: { sentinels: sentinel().sentinelAddresses(), masterName: 'mymaster' },
    password: PASSWORD,
  }));
}

declare global {
  interface ImportMeta {
    glob<T>(pattern: string | string[], options: { eager: true; import: string }): Record<string, T>;
  }
}

/**
 * Every contract case file: any `test/client/**\/*.contract.ts` exporting `default` ContractCases. Part 2 adds its
 * own files in its folders; they run on all three deployments without touching this file.
 */
const CASES = import.meta.glob<ContractCases>('../**/*.contract.ts', { eager: true, import: 'default' });

/** Runs every contract case file against `fixture`. */
export function runContract(fixture: ContractFixture): void {
  for (const [path, cases] of Object.entries(CASES).sort(([a], [b]) => a.localeCompare(b))) {
    describe(`${fixture.mode}: ${path.replace(/^\.\.\//, '').replace(/\.contract\.ts$/, '')}`, () => cases(fixture));
  }
}
