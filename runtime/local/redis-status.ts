import type { ObjectStore } from './env.ts';
import type { Pod } from './pod.ts';
import { type Credential, type RedisView, RedisViewer } from './redis-view.ts';

/** One Redis Cluster as its members see it. */
export interface ClusterReport {
  /** The members that answered, by pod name. */
  readonly members: string[];
  readonly clusterState: string;
  readonly slotsAssigned: number;
  readonly slotsOk: number;
  /** Slots served by a master that no answering member flags as failed. */
  readonly slotsCovered: number;
  readonly masters: number;
  readonly replicas: number;
  readonly keys: number;
}

/** A Redis server of a running pod, as host-side tools (`slotforge monitor`, its exporters) connect to it. */
export interface RedisEndpoint {
  /** The pod's name. */
  readonly name: string;
  readonly namespace: string;
  /** The pod's IP. */
  readonly host: string;
  readonly port: number;
  /** The password the pod's own Secrets gave for the default user; undefined without one (or for a named user). */
  readonly password: string | undefined;
  /** `host:port` of the pod's redis_exporter sidecar (its container port named `metrics`); null when it has none. */
  readonly metrics: string | null;
}

/** The pod's Redis port: the one named `redis`, else 6379, else Sentinel's 26379. */
function redisPort(pod: Pod): number | undefined {
  return pod.ports.find((p) => p.name === 'redis' || p.containerPort === 6379 || p.containerPort === 26379)
    ?.containerPort;
}

/** Credentials a pod mounts (Secret volumes and secretKeyRef env), to ask its Redis for its role. */
function credentials(pod: Pod, store: ObjectStore): Credential[] {
  const out: Credential[] = [];
  for (const volume of pod.spec.volumes ?? []) {
    if (!volume.secret) continue;
    const data = store.secret(pod.namespace, volume.secret.secretName) ?? {};
    for (const [key, value] of Object.entries(data)) {
      out.push({ user: key, password: value.trim() }, { user: undefined, password: value.trim() });
    }
  }
  for (const c of pod.spec.containers) {
    for (const env of c.env ?? []) {
      const ref = env.valueFrom?.secretKeyRef;
      const value = ref ? store.secret(pod.namespace, ref.name)?.[ref.key] : undefined;
      if (value) out.push({ user: undefined, password: value.trim() });
    }
  }
  return out;
}

/**
 * What the runtime knows of Redis (the generic runtime knows pods only): each running pod's Redis asked for its role
 * and cluster view with the credentials the pod mounts, the clusters they form, and the endpoints host tools use.
 */
export class RedisStatus {
  readonly #viewer = new RedisViewer();

  constructor(readonly store: ObjectStore) {}

  /** Per pod (same order), what its Redis reports; undefined for a pod without a Redis port or not running. */
  views(pods: readonly Pod[]): Promise<Array<RedisView | undefined>> {
    return Promise.all(
      pods.map(async (pod): Promise<RedisView | undefined> => {
        const port = redisPort(pod);
        if (!pod.ip || port === undefined || pod.phase !== 'Running') return undefined;
        return this.#viewer.view(`${pod.namespace}/${pod.owner.name}`, pod.ip, port, credentials(pod, this.store));
      }),
    );
  }

  /**
   * The masters and replicas among `pods` (their roles as last seen by {@link views}) with the password their own
   * Secrets gave for the default user.
   */
  endpoints(
    reports: ReadonlyArray<{
      name: string;
      namespace: string;
      role: string | null;
      ip: string | null;
      ports: ReadonlyArray<{ name?: string; port: number }>;
    }>,
    pod: (key: string) => Pod,
  ): RedisEndpoint[] {
    return reports
      .filter((p) => (p.role === 'master' || p.role === 'replica') && p.ip)
      .map((p) => {
        const found = pod(`${p.namespace}/${p.name}`);
        const port = found.ports.find((x) => x.name === 'redis' || x.containerPort === 6379)?.containerPort ?? 6379;
        const credential = this.#viewer.credential(`${found.namespace}/${found.owner.name}`);
        const metrics = p.ports.find((x) => x.name === 'metrics');
        return {
          name: p.name,
          namespace: p.namespace,
          host: p.ip!,
          port,
          password: credential?.user ? undefined : credential?.password,
          metrics: metrics ? `${p.ip}:${metrics.port}` : null,
        };
      });
  }
}

/** Groups the Redis Cluster members by the node ids they know, and sums up each cluster's state and coverage. */
export function groupClusters(pods: readonly Pod[], views: ReadonlyArray<RedisView | undefined>): ClusterReport[] {
  const groups: Array<{ ids: Set<string>; members: Array<{ pod: Pod; view: RedisView }> }> = [];
  pods.forEach((pod, i) => {
    const view = views[i];
    if (!view?.clusterEnabled || !view.myId) return;
    const ids = new Set((view.nodes ?? []).map((n) => n.id));
    const group = groups.find((g) => g.ids.has(view.myId!) || [...ids].some((id) => g.ids.has(id)));
    if (group) {
      for (const id of ids) group.ids.add(id);
      group.members.push({ pod, view });
    } else groups.push({ ids, members: [{ pod, view }] });
  });
  return groups.map(({ members }) => {
    const failed = new Set(
      members.flatMap(({ view }) => (view.nodes ?? []).filter((n) => n.flags.includes('fail')).map((n) => n.id)),
    );
    // The view of a member that is ok (else the first one), for coverage.
    const best = members.find((m) => m.view.clusterState === 'ok') ?? members[0]!;
    const covered = (best.view.nodes ?? [])
      .filter((n) => n.flags.includes('master') && !failed.has(n.id))
      .reduce((sum, n) => sum + n.slots, 0);
    const states = new Set(members.map((m) => m.view.clusterState));
    return {
      members: members.map((m) => m.pod.name),
      clusterState: states.size === 1 ? (best.view.clusterState ?? 'unknown') : [...states].join('/'),
      slotsAssigned: best.view.slotsAssigned ?? 0,
      slotsOk: best.view.slotsOk ?? 0,
      slotsCovered: covered,
      masters: members.filter((m) => m.view.role === 'master').length,
      replicas: members.filter((m) => m.view.role === 'replica').length,
      keys: members.filter((m) => m.view.role === 'master').reduce((sum, m) => sum + m.view.keys, 0),
    };
  });
}
