import {
  cloneManifestSet,
  type LocalRuntime,
  type ManifestSet,
  REVISION_LABEL,
  templateRevision,
  unhealthy,
} from '../../runtime/local/index.ts';
import { pollUntil } from '../../runtime/process/index.ts';
import { parseInfo } from '../../runtime/redis/index.ts';
import { type ChaosTarget, type RolloutReport, UnsupportedFaultError } from '../target.ts';
import { podInfosFromClusterNodes, reshardArgs } from './cluster-view.ts';
import { callOnce } from './redis-call.ts';
import { clusterCheckOutput, clusterCli } from './redis-cli.ts';

/** Options of {@link localTarget}. */
export interface LocalTargetOptions {
  readonly runtime: LocalRuntime;
  /** Namespace of the RedisCluster. @default 'slotforge' */
  readonly namespace?: string;
  /** Headless Service whose names the pods get (`pod.<service>.<namespace>.svc.cluster.local`). @default 'redis-headless' */
  readonly headlessService?: string;
  /** Secret holding the ACL users' passwords (keys `admin`, `app`). @default 'redis-auth' */
  readonly authSecret?: string;
  /**
   * The same deployment synthesized with `shards` shards, for the scale verb: applied to the running runtime as
   * `kubectl apply -f dist/` would be, so the chart's own topology Job moves the slots.
   */
  readonly manifestsFor?: (shards: number, retiringShards?: number) => Promise<ManifestSet>;
}

/** The fault verbs every local-runtime target maps straight onto the runtime's (SIGKILL, SIGSTOP/SIGCONT, delete, heal). */
export function podVerbs(runtime: LocalRuntime): Pick<ChaosTarget, 'kill' | 'pause' | 'resume' | 'delete' | 'heal'> {
  return {
    kill: async (pod) => {
      await runtime.killPod(pod);
    },
    pause: async (pod) => {
      await runtime.pausePod(pod);
    },
    resume: async (pod) => {
      await runtime.resumePod(pod);
    },
    delete: (pod) => runtime.deletePod(pod),
    heal: () => runtime.heal(),
  };
}

/** A scale step (topology Job moving slots under load) must finish within this. */
const SCALE_TIMEOUT_MS = 180_000;

/** The Redis Cluster port of every member (the chart's container port `redis`). */
const REDIS_PORT = 6379;

/**
 * A target over a RedisCluster chart run by the local runtime from its synthesized manifests: faults are the
 * runtime's verbs (SIGKILL, SIGSTOP, graceful delete with preStop, nftables partitions), workloads connect as the
 * chart's `app` ACL user through the pods' DNS names, and operator actions (reshard) run with the `default` (admin)
 * user as `kubectl exec ... redis-cli --cluster` would.
 */
export function localTarget(options: LocalTargetOptions): ChaosTarget {
  const { runtime } = options;
  const namespace = options.namespace ?? 'slotforge';
  const headless = options.headlessService ?? 'redis-headless';
  const secretName = options.authSecret ?? 'redis-auth';

  const password = (key: string) => {
    const value = runtime.store.secret(namespace, secretName)?.[key]?.trim();
    if (!value) throw new Error(`local target: Secret ${namespace}/${secretName} has no key '${key}' yet`);
    return value;
  };
  /** The cluster members: pods of the namespace's StatefulSets with a Redis port. */
  const members = () =>
    runtime
      .pods()
      .filter(
        (p) =>
          p.namespace === namespace &&
          p.owner.kind === 'StatefulSet' &&
          p.ports.some((port) => port.containerPort === REDIS_PORT),
      );
  const admin = async (ip: string, ...args: string[]): Promise<string> =>
    String(await callOnce(ip, REDIS_PORT, password('admin'), ...args));
  /** CLUSTER NODES of the first running member that answers. */
  const clusterNodesText = async () => {
    for (const pod of members()) {
      if (!pod.ip || pod.phase !== 'Running') continue;
      try {
        return await admin(pod.ip, 'CLUSTER', 'NODES');
      } catch {
        // the next member may answer
      }
    }
    throw new Error(`local target: no member of ${namespace} answers CLUSTER NODES`);
  };

  let nodeTimeout: number | undefined;
  const target: ChaosTarget = {
    name: 'local',
    connection: async () => ({
      kind: 'cluster',
      seeds: members().map((p) => ({ host: `${p.name}.${headless}.${namespace}.svc.cluster.local`, port: REDIS_PORT })),
      username: 'app',
      password: password('app'),
    }),
    nodeTimeoutMs: async () => {
      // Asked once, of the first member that answers (a fault may have paused or cut off another).
      for (const pod of nodeTimeout === undefined ? members() : []) {
        if (!pod.ip) continue;
        const reply = await admin(pod.ip, 'CONFIG', 'GET', 'cluster-node-timeout').catch(() => undefined);
        if (reply !== undefined) nodeTimeout = Number(reply.split(',')[1]);
        if (nodeTimeout !== undefined) break;
      }
      if (nodeTimeout === undefined) throw new Error(`local target: no member of ${namespace} answers CONFIG GET`);
      return nodeTimeout;
    },
    pods: async () => {
      const byIp = new Map(members().flatMap((p) => (p.ip ? [[p.ip, p.name] as const] : [])));
      return podInfosFromClusterNodes(await clusterNodesText(), byIp);
    },
    observable: async () => ({
      members: members().flatMap((p) => (p.ip ? [{ pod: p.name, host: p.ip, port: REDIS_PORT }] : [])),
      password: password('admin'),
    }),
    ...podVerbs(runtime),
    partition: async (pods, from, partitionOptions) => {
      // The cluster bus is the client port + 10000 (Redis Cluster specification).
      await runtime.partition(pods, from, partitionOptions?.busOnly ? { ports: [REDIS_PORT + 10_000] } : undefined);
    },
    reshard: async (slots) => {
      await clusterCli(password('admin'), ...reshardArgs(await clusterNodesText(), slots));
    },
    clusterCheck: async () => {
      const pod = members().find((p) => p.ip && p.phase === 'Running');
      if (!pod?.ip) throw new Error(`local target: no running member of ${namespace}`);
      return clusterCheckOutput(password('admin'), `${pod.ip}:${REDIS_PORT}`);
    },
    scale: async (shards) => {
      const manifestsFor = options.manifestsFor;
      if (!manifestsFor) throw new UnsupportedFaultError('local', 'scale (no manifestsFor given)');
      const current = new Set(members().map((p) => p.owner.name)).size;
      if (shards > current) {
        // Scale out: one apply; the new topology Job adds the shards and rebalances slots onto them.
        await runtime.apply(await manifestsFor(shards));
      } else if (shards < current) {
        // Scale in, the documented way (docs/cluster-setup.md): apply with the retiring shards so the topology Job
        // drains and forgets them, then apply the smaller set with prune to remove their StatefulSets.
        await runtime.apply(await manifestsFor(shards, current - shards));
        await jobsComplete(SCALE_TIMEOUT_MS);
        await runtime.apply(await manifestsFor(shards), { prune: true });
      }
      await target.waitHealthy(SCALE_TIMEOUT_MS);
    },
    rolloutRestart: (timeoutMs) => rolloutRestart(timeoutMs),
    waitHealthy: async (timeoutMs) => {
      await pollUntil(
        async () => {
          // Each check throws its reason: a deadline error then says what was still wrong.
          const status = await runtime.status();
          const why = unhealthy(status);
          if (why) throw new Error(why);
          const pods = members();
          const shards = new Set(pods.map((p) => p.owner.name)).size;
          const cluster = status.clusters.find((c) => c.members.some((m) => pods.some((p) => p.name === m)));
          // Every member back in the one cluster, one master per shard, the rest replicas (none left as a stray master).
          if (!cluster || cluster.members.length !== pods.length) {
            throw new Error(`${cluster?.members.length ?? 0} of ${pods.length} members in one cluster`);
          }
          if (cluster.masters !== shards || cluster.replicas !== pods.length - shards) {
            throw new Error(`${cluster.masters} masters and ${cluster.replicas} replicas for ${shards} shards`);
          }
          const unlinked = await unlinkedReplicas(pods.flatMap((p) => (p.ip ? [p.ip] : [])));
          if (unlinked.length > 0) throw new Error(`replica link down at ${unlinked.join(', ')}`);
          return true;
        },
        { description: `the local ${namespace} cluster to be healthy`, timeoutMs, intervalMs: 250 },
      );
    },
  };

  /**
   * `kubectl rollout restart` of the namespace's StatefulSets: the runtime's StatefulSet controller rolls them (one
   * pod per StatefulSet at a time, gated by readiness); meanwhile every member is asked for INFO replication every
   * 200 ms to time each full resync.
   */
  const rolloutRestart = async (timeoutMs: number): Promise<RolloutReport> => {
    const started = Date.now();
    const next = cloneManifestSet(runtime.manifests);
    const revisions = new Map<string, string>();
    for (const [key, sts] of next.statefulSets) {
      if (!key.startsWith(`${namespace}/`)) continue;
      const old = sts.spec.template;
      const annotations = {
        ...old.metadata?.annotations,
        'kubectl.kubernetes.io/restartedAt': new Date().toISOString(),
      };
      const template = { ...old, metadata: { ...old.metadata, annotations } };
      next.statefulSets.set(key, { ...sts, spec: { ...sts.spec, template } });
      revisions.set(sts.metadata.name, templateRevision(sts.metadata.name, template));
    }
    await runtime.apply(next);
    const readyOrder: string[] = [];
    const syncs: Array<{ pod: string; ms: number }> = [];
    /** pod name -> when its current incarnation was first seen syncing. */
    const syncing = new Map<string, number>();
    await pollUntil(
      async () => {
        const pods = members();
        const infos = await Promise.all(
          pods.map((p) => (p.ip ? admin(p.ip, 'INFO', 'replication').catch(() => '') : Promise.resolve(''))),
        );
        pods.forEach((pod, i) => {
          const info = parseInfo(infos[i] ?? '');
          const inSync =
            info.role !== 'slave' || (info.master_link_status === 'up' && info.master_sync_in_progress === '0');
          const since = syncing.get(pod.name);
          if (info.role === 'slave' && !inSync && since === undefined) syncing.set(pod.name, Date.now());
          if (inSync && since !== undefined) {
            syncs.push({ pod: pod.name, ms: Date.now() - since });
            syncing.delete(pod.name);
          }
          const fresh = pod.labels[REVISION_LABEL] === revisions.get(pod.owner.name.split('/').pop() ?? '');
          if (fresh && pod.ready && !readyOrder.includes(pod.name)) readyOrder.push(pod.name);
        });
        const done = pods.every(
          (p) => p.ready && p.labels[REVISION_LABEL] === revisions.get(p.owner.name.split('/').pop() ?? ''),
        );
        return done && pods.length > 0 && syncing.size === 0;
      },
      { description: `the rollout restart of ${namespace}'s StatefulSets`, timeoutMs, intervalMs: 200 },
    );
    return { pods: readyOrder, syncs, durationMs: Date.now() - started };
  };

  /** Polls until every Job is Complete; a Failed Job is an error naming it. */
  const jobsComplete = (timeoutMs: number) =>
    pollUntil(
      async () => {
        const { jobs } = await runtime.status();
        const failed = jobs.filter((j) => j.status === 'Failed');
        if (failed.length > 0) throw new Error(`local target: Job(s) failed: ${failed.map((j) => j.name).join(', ')}`);
        return jobs.every((j) => j.status === 'Complete');
      },
      { description: 'the topology Job to complete', timeoutMs, intervalMs: 250 },
    );

  /** Addresses whose replica link is not up, or that do not answer (a replica still syncing could lose a write). */
  const unlinkedReplicas = async (ips: readonly string[]) => {
    const infos = await Promise.all(ips.map((ip) => admin(ip, 'INFO', 'replication').catch(() => '')));
    return ips.filter((_, i) => {
      const info = parseInfo(infos[i] ?? '');
      return info.role === undefined || (info.role === 'slave' && info.master_link_status !== 'up');
    });
  };
  return target;
}
