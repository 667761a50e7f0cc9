import { Redis } from 'ioredis';
import { countSlots, parseClusterNodes, parseInfo } from '../redis/index.ts';

/** A user and password to try against a pod's Redis. `user` undefined is the default user. */
export interface Credential {
  readonly user: string | undefined;
  readonly password: string | undefined;
}

/** What one Redis process reports about itself. */
export interface RedisView {
  readonly role: 'master' | 'replica' | 'sentinel';
  /** `redis_version` of INFO (the image's Redis, e.g. 8.0.2). */
  readonly version: string;
  readonly clusterEnabled: boolean;
  readonly clusterState?: string;
  readonly slotsAssigned?: number;
  readonly slotsOk?: number;
  readonly knownNodes?: number;
  readonly myId?: string;
  /** Node ids of the cluster as this node sees it, with their flags and slot counts. */
  readonly nodes?: ReadonlyArray<{ id: string; address: string; flags: string[]; slots: number }>;
  readonly keys: number;
}

async function ask(ip: string, port: number, credential: Credential, timeoutMs: number): Promise<RedisView> {
  const client = new Redis({
    host: ip,
    port,
    username: credential.user,
    password: credential.password,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    lazyConnect: true,
    // No INFO at connect: a NOAUTH must surface as the command's error, to try the next credential.
    enableReadyCheck: false,
    enableOfflineQueue: false,
  });
  let lastError = '';
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  try {
    try {
      await client.connect();
    } catch (error) {
      // ioredis 6 authenticates in HELLO at connect: an auth refusal closes the connection and shows only as an event.
      const refused = /NOAUTH|WRONGPASS|NOPERM/.test(lastError);
      throw Object.assign(new Error(lastError || (error as Error).message), { unreachable: !refused });
    }
    const info = parseInfo(String(await client.call('INFO')));
    const version = info.redis_version ?? '';
    if (info.redis_mode === 'sentinel') return { role: 'sentinel', version, clusterEnabled: false, keys: 0 };
    const keys = Object.entries(info)
      .filter(([k]) => /^db\d+$/.test(k))
      .reduce((sum, [, v]) => sum + Number(/keys=(\d+)/.exec(v)?.[1] ?? 0), 0);
    const role = info.role === 'slave' ? 'replica' : 'master';
    if (info.cluster_enabled !== '1') return { role, version, clusterEnabled: false, keys };
    const cluster = parseInfo(String(await client.call('CLUSTER', 'INFO')));
    const lines = parseClusterNodes(String(await client.call('CLUSTER', 'NODES')));
    return {
      role,
      version,
      clusterEnabled: true,
      clusterState: cluster.cluster_state,
      slotsAssigned: Number(cluster.cluster_slots_assigned ?? 0),
      slotsOk: Number(cluster.cluster_slots_ok ?? 0),
      knownNodes: Number(cluster.cluster_known_nodes ?? 0),
      myId: lines.find((l) => l.flags.includes('myself'))?.id,
      nodes: lines.map((l) => ({ id: l.id, address: l.address, flags: [...l.flags], slots: countSlots(l.slots) })),
      keys,
    };
  } finally {
    client.disconnect();
  }
}

/**
 * Asks a pod's Redis for its role and cluster view, trying the credentials the pod itself mounts (its Secrets) until
 * one is accepted; remembers the one that worked. Undefined when none answers.
 */
export class RedisViewer {
  readonly #known = new Map<string, Credential>();

  /** The credential that last worked for `key`, if any. */
  credential(key: string): Credential | undefined {
    return this.#known.get(key);
  }

  async view(
    key: string,
    ip: string,
    port: number,
    candidates: readonly Credential[],
    timeoutMs = 1000,
  ): Promise<RedisView | undefined> {
    const known = this.#known.get(key);
    const order = known
      ? [known, ...candidates.filter((c) => c !== known)]
      : [{ user: undefined, password: undefined }, ...candidates];
    for (const credential of order) {
      try {
        const view = await ask(ip, port, credential, timeoutMs);
        this.#known.set(key, credential);
        return view;
      } catch (error) {
        // A refusal after connecting (NOAUTH, WRONGPASS, NOPERM, or ioredis closing on them) is worth another
        // credential; a node that does not accept connections is dead for every one.
        if ((error as { unreachable?: boolean }).unreachable) return undefined;
      }
    }
    return undefined;
  }
}
