import { type LocalRuntime, type Pod, unhealthy } from '../../runtime/local/index.ts';
import { pollUntil } from '../../runtime/process/index.ts';
import { parseInfo } from '../../runtime/redis/index.ts';
import type { ChaosTarget, PodInfo } from '../target.ts';
import { podVerbs } from './local.ts';
import { callOnce } from './redis-call.ts';

/** Options of {@link localSentinelTarget}. */
export interface LocalSentinelTargetOptions {
  readonly runtime: LocalRuntime;
  /** @default 'slotforge-sentinel' (the example chart's) */
  readonly namespace?: string;
  /** The RedisSentinel construct's name: pods `<name>-redis-N` and `<name>-sentinel-N`, master name `<name>`. @default 'sessions' */
  readonly name?: string;
}

const REDIS_PORT = 6379;
const SENTINEL_PORT = 26379;

/**
 * A target over a RedisSentinel chart run by the local runtime: one primary, replicas and sentinels. Workloads connect
 * through the sentinels (never a fixed primary address) as the `app` user; the deployment's "node timeout" is the
 * sentinels' down-after-milliseconds, the time a silent primary takes to be declared down.
 */
export function localSentinelTarget(options: LocalSentinelTargetOptions): ChaosTarget {
  const { runtime } = options;
  const namespace = options.namespace ?? 'slotforge-sentinel';
  const name = options.name ?? 'sessions';
  const headless = `${name}-headless`;

  const secret = (key: string) => {
    const value = runtime.store.secret(namespace, `${name}-auth`)?.[key]?.trim();
    if (!value) throw new Error(`local sentinel target: Secret ${namespace}/${name}-auth has no key '${key}' yet`);
    return value;
  };
  const podsOf = (owner: string) =>
    runtime.pods().filter(
      (p) =>
        p.namespace === namespace &&
        p.owner.kind === 'StatefulSet' &&
        // The runtime names owners `namespace/name`.
        (p.owner.name === `${namespace}/${owner}` || p.owner.name === owner),
    );
  const dataPods = () => podsOf(`${name}-redis`);
  const sentinelPods = () => podsOf(`${name}-sentinel`);
  const ask = (pod: Pod, port: number, password: string, ...args: string[]): Promise<unknown> => {
    if (!pod.ip) return Promise.reject(new Error(`pod ${pod.name} has no address`));
    return callOnce(pod.ip, port, password, ...args);
  };
  const replication = async (pod: Pod) =>
    parseInfo(String(await ask(pod, REDIS_PORT, secret('admin'), 'INFO', 'replication').catch(() => '')));
  /** A host as Redis or a sentinel names it (pod DNS name or IP) to the pod's name. */
  const podNamed = (host: string | undefined) =>
    dataPods().find((p) => p.ip === host || host?.split('.')[0] === p.name)?.name;

  const target: ChaosTarget = {
    name: 'local-sentinel',
    connection: async () => ({
      kind: 'sentinel',
      seeds: sentinelPods().map((p) => ({
        host: `${p.name}.${headless}.${namespace}.svc.cluster.local`,
        port: SENTINEL_PORT,
      })),
      masterName: name,
      username: 'app',
      password: secret('app'),
      sentinelPassword: secret('sentinel-access'),
    }),
    nodeTimeoutMs: async () => {
      for (const pod of sentinelPods()) {
        const fields = (await ask(pod, SENTINEL_PORT, secret('sentinel-access'), 'SENTINEL', 'MASTER', name).catch(
          () => undefined,
        )) as string[] | undefined;
        const at = fields?.indexOf('down-after-milliseconds') ?? -1;
        if (fields && at >= 0) return Number(fields[at + 1]);
      }
      throw new Error(`local sentinel target: no sentinel of ${namespace} answers SENTINEL MASTER ${name}`);
    },
    pods: async () => {
      const data = await Promise.all(
        dataPods().map(async (pod): Promise<PodInfo> => {
          const info = await replication(pod);
          const role = info.role === 'master' ? 'master' : info.role === 'slave' ? 'replica' : 'unknown';
          const master = role === 'replica' ? podNamed(info.master_host) : undefined;
          return {
            name: pod.name,
            address: `${pod.ip}:${REDIS_PORT}`,
            role,
            slots: [],
            ...(master ? { masterOf: master } : {}),
          };
        }),
      );
      const sentinels = sentinelPods().map(
        (pod): PodInfo => ({ name: pod.name, address: `${pod.ip}:${SENTINEL_PORT}`, role: 'sentinel', slots: [] }),
      );
      return [...data, ...sentinels];
    },
    ...podVerbs(runtime),
    partition: (pods, from) => runtime.partition(pods, from),
    waitHealthy: async (timeoutMs) => {
      await pollUntil(
        async () => {
          // Each check throws its reason: a deadline error then says what was still wrong.
          const why = unhealthy(await runtime.status());
          if (why) throw new Error(why);
          const pods = dataPods();
          const infos = await Promise.all(pods.map(replication));
          const masters = pods.filter((_, i) => infos[i]?.role === 'master');
          if (masters.length !== 1) throw new Error(`${masters.length} primaries: ${masters.map((p) => p.name)}`);
          const master = masters[0]?.name;
          // Every replica follows that master with its link up, and every sentinel names it.
          const lagging = pods.filter((_, i) => {
            const info = infos[i];
            return (
              info?.role !== 'master' && (podNamed(info?.master_host) !== master || info?.master_link_status !== 'up')
            );
          });
          if (lagging.length > 0) throw new Error(`replicas not linked to ${master}: ${lagging.map((p) => p.name)}`);
          for (const pod of sentinelPods()) {
            const reply = (await ask(
              pod,
              SENTINEL_PORT,
              secret('sentinel-access'),
              'SENTINEL',
              'get-master-addr-by-name',
              name,
            ).catch(() => undefined)) as string[] | undefined;
            if (podNamed(reply?.[0]) !== master) throw new Error(`${pod.name} names ${reply?.[0]}, not ${master}`);
          }
          return true;
        },
        { description: `the local ${namespace}/${name} Sentinel deployment to be healthy`, timeoutMs, intervalMs: 250 },
      );
    },
  };
  return target;
}
