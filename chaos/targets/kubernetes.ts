import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  Exec,
  KubeConfig,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { pollUntil } from '../../runtime/process/index.ts';
import { parseInfo } from '../../runtime/redis/index.ts';
import { type ChaosTarget, UnsupportedFaultError } from '../target.ts';
import { reshardArgs } from './cluster-view.ts';
import { execIn } from './kubernetes-exec.ts';
import {
  CHAOS_MESH,
  chaosInjected,
  chaosMeshMissingError,
  clusterHealth,
  containerIdOf,
  HEALTH_SCRIPT,
  parseConfigGetMs,
  partitionObject,
  podInfosFromClusterNodes,
  redisCliCommand,
  signalCommand,
  signalPod,
  signalPodName,
} from './kubernetes-objects.ts';
import { KubernetesTargetError, type KubernetesTargetOptions, resolveKubernetesOptions } from './kubernetes-options.ts';

export { KubernetesTargetError, type KubernetesTargetOptions, parseSeeds } from './kubernetes-options.ts';

/** A {@link ChaosTarget} on a real cluster, plus `close()` to remove what it created (signal pods, partitions). */
export interface KubernetesChaosTarget extends ChaosTarget {
  close(): Promise<void>;
}

/** The Redis port of every member (the chart's container port `redis`). */
const REDIS_PORT = 6379;
/** A short redis-cli call (CLUSTER NODES, CONFIG GET) through exec. */
const CLI_SECONDS = 10;
/** A reshard moving slots under load; the local target bounds redis-cli --cluster the same way. */
const RESHARD_SECONDS = 300;
/** A signal pod's image pull and start on a fresh kind node. */
const SIGNAL_POD_START_MS = 120_000;
/** Chaos Mesh applying or removing a partition (its daemon edits iptables in each pod). */
const CHAOS_APPLY_MS = 30_000;
/** A deleted pod back (preStop + grace period first, then the StatefulSet controller recreates it). */
const RECREATE_EXTRA_MS = 180_000;

const statusOf = (error: unknown) => (error as { code?: number })?.code;
const notFound = (error: unknown) => statusOf(error) === 404;

/**
 * A target over a RedisCluster running on a real Kubernetes cluster (kind, or any other) reached through a
 * kubeconfig, for the same scenarios the local runtime runs:
 * - `kill` / `pause` / `resume`: SIGKILL / SIGSTOP / SIGCONT to the redis container's main process, sent from a
 *   per-node signal pod in the host's PID namespace (redis-server is PID 1 of its container and ignores both when sent
 *   from inside: see {@link signalPod}); the kubelet restarts a killed container in place.
 * - `delete`: a graceful pod delete with the pod's own grace period (preStop runs), then waits for the new pod.
 * - `partition` / `heal`: Chaos Mesh NetworkChaos objects (whole pods; bus-only is unsupported).
 * - `reshard`, `nodeTimeoutMs`, `pods`, health: `redis-cli` run by exec inside a member, as the admin user, with the
 *   password the pod mounts.
 * - `connection`: `options.seeds`, else the pods' DNS names (reachable only from inside the cluster), as user `app`.
 *
 * Not yet proven on a real cluster: see docs/chaos-kubernetes.md.
 */
export function kubernetesTarget(options: KubernetesTargetOptions = {}): KubernetesChaosTarget {
  const o = resolveKubernetesOptions(options);
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  if (o.context !== undefined) {
    const names = kc.getContexts().map((c) => c.name);
    if (!names.includes(o.context)) {
      throw new KubernetesTargetError(
        'E_INVALID_OPTION',
        `context must name a context of the kubeconfig (got '${o.context}'; it has ${names.join(', ') || 'none'})`,
        { option: 'context', received: o.context },
      );
    }
    kc.setCurrentContext(o.context);
  }
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const exec = new Exec(kc);
  const { namespace } = o;
  const api = (what: string, error: unknown) =>
    new KubernetesTargetError(
      'E_KUBERNETES',
      `${what} in namespace ${namespace} failed (${statusOf(error) ?? (error as Error)?.message})`,
      {},
      { cause: error },
    );

  const members = async (): Promise<V1Pod[]> => {
    const list = await core
      .listNamespacedPod({ namespace, labelSelector: o.labelSelector })
      .catch((e) => Promise.reject(api('listing the member pods', e)));
    return list.items
      .filter((p) => p.metadata?.ownerReferences?.some((r) => r.kind === 'StatefulSet') ?? false)
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  };
  const running = (pods: readonly V1Pod[]) =>
    pods.filter((p) => p.status?.phase === 'Running' && p.status.podIP && !p.metadata?.deletionTimestamp);
  const cli = (pod: string, seconds: number, ...args: string[]) =>
    execIn(exec, { namespace, pod, container: o.container }, redisCliCommand(seconds, ...args), seconds * 1000 + 5000);
  /** redis-cli in the first running member that answers. */
  const cliAnywhere = async (seconds: number, ...args: string[]) => {
    let last: unknown;
    for (const pod of running(await members())) {
      try {
        return { pod, ...(await cli(pod.metadata?.name ?? '', seconds, ...args)) };
      } catch (error) {
        last = error; // the next member may answer
      }
    }
    throw new KubernetesTargetError(
      'E_KUBERNETES',
      `no running member of ${namespace} (selector ${o.labelSelector}) answers redis-cli ${args.join(' ')}`,
      {},
      { cause: last },
    );
  };
  const password = async (key: string) => {
    const secret = await core
      .readNamespacedSecret({ name: o.authSecret, namespace })
      .catch((e) => Promise.reject(api(`reading Secret ${o.authSecret}`, e)));
    const value = secret.data?.[key] ? Buffer.from(secret.data[key], 'base64').toString('utf8').trim() : '';
    if (!value) {
      throw new KubernetesTargetError('E_KUBERNETES', `Secret ${namespace}/${o.authSecret} has no key '${key}'`, {
        object: `secret/${o.authSecret}`,
      });
    }
    return value;
  };

  // Signal pods, one per node, created on first use and removed by close().
  const signalPods = new Map<string, Promise<string>>();
  const ensureSignalPod = (node: string) => {
    let ready = signalPods.get(node);
    if (!ready) {
      ready = startSignalPod(node);
      signalPods.set(node, ready);
      ready.catch(() => signalPods.delete(node));
    }
    return ready;
  };
  const startSignalPod = async (node: string): Promise<string> => {
    const name = signalPodName(node);
    let existing: V1Pod | undefined;
    try {
      existing = await core.readNamespacedPod({ name, namespace });
    } catch (error) {
      if (!notFound(error)) throw api(`reading pod ${name}`, error);
    }
    const phase = existing?.status?.phase;
    if (existing && phase !== 'Running' && phase !== 'Pending') {
      // A signal pod of an earlier run that ran out its deadline (Failed): replace it.
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
      await pollUntil(
        () =>
          core.readNamespacedPod({ name, namespace }).then(
            () => false,
            (e) => notFound(e),
          ),
        { description: `old signal pod ${name} to be gone`, timeoutMs: 60_000, intervalMs: 500 },
      );
      existing = undefined;
    }
    if (!existing) {
      await core
        .createNamespacedPod({ namespace, body: signalPod({ name, node, image: o.signalImage }) })
        .catch((e) => Promise.reject(api(`creating signal pod ${name} (privileged, hostPID) on node ${node}`, e)));
    }
    await pollUntil(async () => (await core.readNamespacedPod({ name, namespace })).status?.phase === 'Running', {
      description: `signal pod ${namespace}/${name} to run on node ${node}`,
      timeoutMs: SIGNAL_POD_START_MS,
      intervalMs: 500,
    });
    return name;
  };
  const signal = async (pod: string, sig: 'KILL' | 'STOP' | 'CONT') => {
    const p = await core
      .readNamespacedPod({ name: pod, namespace })
      .catch((e) => Promise.reject(api(`reading pod ${pod}`, e)));
    const node = p.spec?.nodeName;
    const id = containerIdOf(p.status?.containerStatuses?.find((c) => c.name === o.container)?.containerID);
    if (!node || !id) {
      throw new KubernetesTargetError(
        'E_KUBERNETES',
        `pod ${namespace}/${pod} has no running '${o.container}' container to signal`,
        {
          object: `pod/${pod}`,
        },
      );
    }
    const signaller = await ensureSignalPod(node);
    await execIn(exec, { namespace, pod: signaller, container: 'signal' }, signalCommand(id, sig), 20_000);
  };

  // NetworkChaos objects of partitions in force.
  const partitions = new Set<string>();
  let partitionCount = 0;
  const removePartitions = async () => {
    const names = [...partitions];
    await Promise.all(
      names.map(async (name) => {
        await custom
          .deleteNamespacedCustomObject({ ...CHAOS_MESH, namespace, name })
          .catch((e) => (notFound(e) ? undefined : Promise.reject(api(`deleting NetworkChaos ${name}`, e))));
        // Chaos Mesh holds a finalizer until its daemons removed the iptables rules: gone means healed.
        await pollUntil(
          () =>
            custom.getNamespacedCustomObject({ ...CHAOS_MESH, namespace, name }).then(
              () => false,
              (e) => notFound(e),
            ),
          {
            description: `NetworkChaos ${namespace}/${name} to be removed`,
            timeoutMs: CHAOS_APPLY_MS * 2,
            intervalMs: 250,
          },
        );
        partitions.delete(name);
      }),
    );
  };

  const target: KubernetesChaosTarget = {
    name: 'kubernetes',
    connection: async () => ({
      kind: 'cluster',
      seeds:
        o.seeds ??
        (await members()).map((p) => ({
          host: `${p.metadata?.name}.${o.headlessService}.${namespace}.svc.${o.clusterDomain}`,
          port: REDIS_PORT,
        })),
      username: 'app',
      password: await password('app'),
    }),
    nodeTimeoutMs: async () =>
      parseConfigGetMs((await cliAnywhere(CLI_SECONDS, 'CONFIG', 'GET', 'cluster-node-timeout')).stdout),
    pods: async () => {
      const pods = await members();
      const byIp = new Map(
        pods.flatMap((p) => (p.status?.podIP ? [[p.status.podIP, p.metadata?.name ?? ''] as const] : [])),
      );
      const { stdout } = await cliAnywhere(CLI_SECONDS, 'CLUSTER', 'NODES');
      return podInfosFromClusterNodes(stdout, byIp);
    },
    kill: (pod) => signal(pod, 'KILL'),
    pause: (pod) => signal(pod, 'STOP'),
    resume: (pod) => signal(pod, 'CONT'),
    delete: async (pod) => {
      const old = await core
        .readNamespacedPod({ name: pod, namespace })
        .catch((e) => Promise.reject(api(`reading pod ${pod}`, e)));
      const uid = old.metadata?.uid;
      const grace = old.spec?.terminationGracePeriodSeconds ?? 30;
      await core
        .deleteNamespacedPod({
          name: pod,
          namespace,
          gracePeriodSeconds: grace,
          // The pod read above, not a successor that appeared meanwhile.
          body: { gracePeriodSeconds: grace, ...(uid ? { preconditions: { uid } } : {}) },
        })
        .catch((e) => Promise.reject(api(`deleting pod ${pod}`, e)));
      await pollUntil(
        async () => {
          const now = await core.readNamespacedPod({ name: pod, namespace });
          return now.metadata?.uid !== undefined && now.metadata.uid !== uid;
        },
        {
          description: `pod ${namespace}/${pod} to be recreated`,
          timeoutMs: grace * 1000 + RECREATE_EXTRA_MS,
          intervalMs: 500,
        },
      );
    },
    partition: async (pods, from, partitionOptions) => {
      if (partitionOptions?.busOnly) {
        throw new UnsupportedFaultError(
          'kubernetes',
          'partition the cluster bus only (Chaos Mesh NetworkChaos partitions whole pods and has no port filter)',
        );
      }
      const name = `slotforge-partition-${Date.now().toString(36)}-${partitionCount++}`;
      await custom
        .createNamespacedCustomObject({
          ...CHAOS_MESH,
          namespace,
          body: partitionObject({ name, namespace, pods, from }),
        })
        .catch((e) => Promise.reject(notFound(e) ? chaosMeshMissingError(e) : api(`creating NetworkChaos ${name}`, e)));
      partitions.add(name);
      // The fault holds for a fixed time from here: wait until Chaos Mesh has applied it to every pod.
      try {
        await pollUntil(
          async () => chaosInjected(await custom.getNamespacedCustomObject({ ...CHAOS_MESH, namespace, name })),
          {
            description: `Chaos Mesh to inject NetworkChaos ${namespace}/${name}`,
            timeoutMs: CHAOS_APPLY_MS,
            intervalMs: 250,
          },
        );
      } catch (error) {
        await removePartitions().catch(() => undefined);
        throw error;
      }
    },
    heal: removePartitions,
    reshard: async (slots) => {
      const { pod, stdout } = await cliAnywhere(CLI_SECONDS, 'CLUSTER', 'NODES');
      await cli(pod.metadata?.name ?? '', RESHARD_SECONDS, '--cluster', ...reshardArgs(stdout, slots));
    },
    scale: async (shards) => {
      // Scaling is a chart change: the topology Job of the re-synthesized manifests adds or drains shards.
      throw new UnsupportedFaultError(
        'kubernetes',
        `scale in place: re-synthesize the charts with shards: ${shards} and run kubectl apply -f dist/ (docs/cluster-setup.md)`,
      );
    },
    waitHealthy: async (timeoutMs) => {
      await pollUntil(
        async () => {
          const [pods, sets] = await Promise.all([
            members(),
            apps.listNamespacedStatefulSet({ namespace, labelSelector: o.labelSelector }).then((l) => l.items),
          ]);
          const states = await Promise.all(
            pods.map(async (p) => {
              const name = p.metadata?.name ?? '';
              const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
              const info = ready
                ? await execIn(
                    exec,
                    { namespace, pod: name, container: o.container },
                    ['sh', '-c', HEALTH_SCRIPT],
                    10_000,
                  )
                    .then((r) => parseInfo(r.stdout))
                    .catch(() => undefined)
                : undefined;
              return { name, ready, terminating: Boolean(p.metadata?.deletionTimestamp), info };
            }),
          );
          const verdict = clusterHealth(states, wanted(sets));
          if (!verdict.ok) throw new Error(verdict.reason);
          return true;
        },
        { description: `the RedisCluster in ${namespace} to be healthy`, timeoutMs, intervalMs: 1000 },
      );
    },
    close: async () => {
      await removePartitions().catch(() => undefined);
      const names = await Promise.all([...signalPods.values()].map((p) => p.catch(() => undefined)));
      signalPods.clear();
      await Promise.all(
        names.flatMap((name) =>
          name ? [core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined)] : [],
        ),
      );
    },
  };
  return target;
}

/** Pods and shards the member StatefulSets want (a StatefulSet scaled to 0 is no shard). */
function wanted(sets: readonly V1StatefulSet[]): { pods: number; shards: number } {
  const replicas = sets.map((s) => s.spec?.replicas ?? 1);
  return { pods: replicas.reduce((a, b) => a + b, 0), shards: replicas.filter((r) => r > 0).length };
}
