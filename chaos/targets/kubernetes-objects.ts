export { podInfosFromClusterNodes } from './cluster-view.ts';

import { KubernetesTargetError } from './kubernetes-options.ts';

/**
 * Pure parts of the Kubernetes target: the objects it creates and the replies it parses. Internal to
 * chaos/targets/kubernetes.ts; exported for its tests.
 * @internal
 */

/** Chaos Mesh's API group, version and the plural of NetworkChaos. */
export const CHAOS_MESH = { group: 'chaos-mesh.org', version: 'v1alpha1', plural: 'networkchaos' } as const;

/** Labels on every object the target creates, so `kubectl delete -l` can clean up after a crashed run. */
export const CHAOS_LABELS = { 'app.kubernetes.io/managed-by': 'slotforge', 'slotforge.io/chaos': 'true' } as const;

/**
 * A Chaos Mesh NetworkChaos that cuts `pods` off from `from` in both directions, every pod chosen by name.
 *
 * Chaos Mesh partitions whole pods: `spec.target` selects peers and `externalTargets` takes only IPs or domains (and
 * only with `direction: to`); neither NetworkChaos nor the PodNetworkChaos it compiles to (ipsets + iptables chains)
 * has a port field, so a bus-only partition is not expressible (see {@link partitionObject}'s caller).
 * @see https://chaos-mesh.org/docs/simulate-network-chaos-on-kubernetes/ (field description)
 * @see https://github.com/chaos-mesh/chaos-mesh/blob/master/api/v1alpha1/networkchaos_types.go
 */
export function partitionObject(input: {
  readonly name: string;
  readonly namespace: string;
  readonly pods: readonly string[];
  readonly from: readonly string[];
}): Record<string, unknown> {
  return {
    apiVersion: `${CHAOS_MESH.group}/${CHAOS_MESH.version}`,
    kind: 'NetworkChaos',
    metadata: { name: input.name, namespace: input.namespace, labels: { ...CHAOS_LABELS } },
    spec: {
      action: 'partition',
      mode: 'all',
      selector: { pods: { [input.namespace]: [...input.pods] } },
      direction: 'both',
      target: { mode: 'all', selector: { pods: { [input.namespace]: [...input.from] } } },
    },
  };
}

/** Whether Chaos Mesh reports the NetworkChaos as applied to every selected pod (condition AllInjected=True). */
export function chaosInjected(object: unknown): boolean {
  const conditions = (object as { status?: { conditions?: Array<{ type?: string; status?: string }> } })?.status
    ?.conditions;
  return conditions?.some((c) => c.type === 'AllInjected' && c.status === 'True') ?? false;
}

/** The error for a missing NetworkChaos CRD: what is missing and the commands that install it. */
export function chaosMeshMissingError(cause?: unknown): KubernetesTargetError {
  return new KubernetesTargetError(
    'E_CHAOS_MESH_MISSING',
    'partitions need Chaos Mesh, but the API server has no NetworkChaos resource (CRD networkchaos.chaos-mesh.org). ' +
      'Install Chaos Mesh 2.x: helm repo add chaos-mesh https://charts.chaos-mesh.org && ' +
      'helm install chaos-mesh chaos-mesh/chaos-mesh -n chaos-mesh --create-namespace ' +
      '--set chaosDaemon.runtime=containerd --set chaosDaemon.socketPath=/run/containerd/containerd.sock ' +
      '(see docs/chaos-kubernetes.md)',
    { object: 'customresourcedefinition/networkchaos.chaos-mesh.org' },
    { cause },
  );
}

/**
 * Shell run by `kubectl exec` in a member's redis container: redis-cli as the admin (`default`) user against the pod's
 * own address. The password comes from the Secret the pod already mounts (lib.sh `secret admin`) and travels to
 * redis-cli in `REDISCLI_AUTH`, so it is neither sent over the API nor visible in any argv; TLS flags come from lib.sh
 * too. `$1` is a deadline in seconds (coreutils `timeout`: redis-cli 7.0 has none of its own); the rest are redis-cli's
 * arguments, passed as argv so nothing is re-parsed by the shell.
 */
export const REDIS_CLI_SCRIPT = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  '. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"',
  '_secs=$1',
  'shift',
  'REDISCLI_AUTH=$(secret admin)',
  'export REDISCLI_AUTH',
  // shellcheck: TLS_ARGS is split on purpose (lib.sh builds it as a word list).
  'exec timeout "$_secs" redis-cli $TLS_ARGS --no-auth-warning -h "$POD_IP" -p "$REDIS_PORT" "$@"',
].join('\n');

/** argv of an exec running redis-cli in a member, bounded by `seconds`. */
export function redisCliCommand(seconds: number, ...args: string[]): string[] {
  return ['sh', '-c', REDIS_CLI_SCRIPT, 'slotforge-chaos', String(Math.max(1, Math.ceil(seconds))), ...args];
}

/**
 * Shell run in the signal pod (hostPID): finds the host PID of the container's main process (the process in the
 * container's cgroup whose PID inside its own namespace is 1) and sends it the signal. `$1` container ID, `$2` signal.
 */
export const SIGNAL_SCRIPT = [
  '_id=$1',
  '_sig=$2',
  "_tab=$(printf '\\t')",
  'for _d in /proc/[0-9]*; do',
  '  grep -q "$_id" "$_d/cgroup" 2>/dev/null || continue',
  '  _ns=$(sed -n \'s/^NSpid:[[:space:]]*//p\' "$_d/status" 2>/dev/null)',
  '  case "$_ns" in *"$_tab"1)',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  '    kill -s "$_sig" "${_d#/proc/}" && echo "${_d#/proc/}"',
  '    exit $?',
  '    ;;',
  '  esac',
  'done',
  'echo "no main process of container $_id on this node" >&2',
  'exit 3',
].join('\n');

/** argv of an exec in the signal pod sending `signal` (KILL, STOP, CONT) to a container's main process. */
export function signalCommand(containerId: string, signal: 'KILL' | 'STOP' | 'CONT'): string[] {
  return ['sh', '-c', SIGNAL_SCRIPT, 'slotforge-signal', containerId, signal];
}

/** `containerd://<id>` (or `docker://`, `cri-o://`) of a pod status to the bare ID the cgroup paths contain. */
export function containerIdOf(containerID: string | undefined): string | undefined {
  const id = containerID?.replace(/^[a-z-]+:\/\//, '');
  return id && /^[0-9a-f]{12,}$/.test(id) ? id : undefined;
}

/** Name of the signal pod of a node: a DNS label, unique per node. */
export function signalPodName(node: string): string {
  const base = `slotforge-chaos-signal-${node.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
  return base.slice(0, 63).replace(/-+$/, '');
}

/**
 * The signal pod of `node`: sleeps with the host's PID namespace so it can signal redis-server. Inside the container
 * redis-server is PID 1 (entrypoint.sh ends in `exec redis-server`), and the kernel drops SIGKILL and SIGSTOP sent to a
 * namespace's init from inside that namespace, so `kubectl exec ... kill -9 1` does nothing; from an ancestor
 * namespace they are delivered (pid_namespaces(7)). Privileged, so no AppArmor or capability set stands in the way.
 * It deletes itself after a day if a run dies without cleaning up.
 * @see https://man7.org/linux/man-pages/man7/pid_namespaces.7.html
 */
export function signalPod(input: { readonly name: string; readonly node: string; readonly image: string }) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: input.name, labels: { ...CHAOS_LABELS, 'app.kubernetes.io/component': 'signal' } },
    spec: {
      nodeName: input.node,
      hostPID: true,
      restartPolicy: 'Never',
      activeDeadlineSeconds: 86_400,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: 'signal',
          image: input.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '86400'],
          securityContext: { privileged: true, runAsUser: 0 },
          resources: { requests: { cpu: '1m', memory: '4Mi' }, limits: { memory: '32Mi' } },
        },
      ],
    },
  };
}

/** `redis-cli CONFIG GET cluster-node-timeout` output (`name\nvalue\n`) to milliseconds. */
export function parseConfigGetMs(output: string, name = 'cluster-node-timeout'): number {
  const [key, value] = output.split(/\r?\n/).map((l) => l.trim());
  const ms = Number(value);
  if (key !== name || value === '' || !Number.isFinite(ms) || ms <= 0) {
    throw new KubernetesTargetError('E_KUBERNETES', `unexpected CONFIG GET ${name} reply: ${JSON.stringify(output)}`);
  }
  return ms;
}

/** Shell printing a member's `CLUSTER INFO` then `INFO replication` (one exec per member and health poll). */
export const HEALTH_SCRIPT = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  '. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"',
  'REDISCLI_AUTH=$(secret admin)',
  'export REDISCLI_AUTH',
  'cli() { timeout 3 redis-cli $TLS_ARGS --no-auth-warning -h "$POD_IP" -p "$REDIS_PORT" "$@"; }',
  'cli CLUSTER INFO && cli INFO replication',
].join('\n');

/** What {@link clusterHealth} needs of one member. */
export interface MemberState {
  readonly name: string;
  readonly ready: boolean;
  readonly terminating: boolean;
  /** `CLUSTER INFO` and `INFO replication` fields; undefined when the member did not answer. */
  readonly info: Readonly<Record<string, string>> | undefined;
}

/**
 * Whether the RedisCluster is healthy: every pod the StatefulSets want exists, is Ready and not terminating; every
 * member answers with `cluster_state:ok` and knows every other member; one master per shard, the rest replicas with
 * their link up (a replica still syncing would lose a WAIT-acknowledged write). `reason` says what is not yet so.
 */
export function clusterHealth(
  members: readonly MemberState[],
  want: { readonly pods: number; readonly shards: number },
): { ok: boolean; reason: string } {
  const no = (reason: string) => ({ ok: false, reason });
  if (members.length !== want.pods) return no(`${members.length} of ${want.pods} member pods exist`);
  for (const m of members) {
    if (m.terminating) return no(`${m.name} is terminating`);
    if (!m.ready) return no(`${m.name} is not Ready`);
    if (!m.info) return no(`${m.name} does not answer`);
    if (m.info.cluster_state !== 'ok') return no(`${m.name} has cluster_state ${m.info.cluster_state ?? '?'}`);
    if (Number(m.info.cluster_known_nodes) !== want.pods) {
      return no(`${m.name} knows ${m.info.cluster_known_nodes ?? '?'} nodes, not ${want.pods}`);
    }
    if (m.info.role === 'slave' && m.info.master_link_status !== 'up') return no(`${m.name}'s master link is down`);
  }
  const masters = members.filter((m) => m.info?.role === 'master').length;
  if (masters !== want.shards) return no(`${masters} masters for ${want.shards} shards`);
  return { ok: true, reason: 'healthy' };
}
