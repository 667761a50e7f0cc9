import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { admitOrThrow, assumedCrds } from './admission/gate.ts';
import { DEFAULT_DNS_DELAY_MS, parseDnsDelay, renderPodHosts } from './dns.ts';
import type { ObjectStore } from './env.ts';
import { LocalRuntimeError } from './errors.ts';
import { claimHostDns, type HostDnsClaim } from './host-dns-claim.ts';
import { publishApplied } from './kubectl/publish.ts';
import { type ManifestSet, namespaceOf } from './manifests.ts';
import { freeSubnet } from './network.ts';
import { recordRuntime, sweepOrphans } from './orphans.ts';
import { type statePaths, storedSecret } from './state.ts';

/** Options of {@link LocalRuntime.start}. */
export interface LocalRuntimeOptions {
  /** Where PVC data, pod dirs, logs and the control socket live. */
  readonly stateDir: string;
  readonly manifests: ManifestSet;
  /**
   * Keep a marked block of pod and Service names in the host's /etc/hosts so clients on the host resolve them.
   * @default true
   */
  readonly hostDns?: boolean;
  /**
   * With host DNS, how long to wait while another runtime of the host publishes it (see {@link claimHostDns}); 0
   * fails at once with E_HOST_DNS_BUSY. @default $SLOTFORGE_HOST_DNS_WAIT_MS or 0
   */
  readonly hostDnsWaitMs?: number;
  /**
   * How long a DNS change takes to reach clients (pods and the host block): a new pod name resolves, a moved one gets
   * its new address and a removed one stops resolving this long after the change, as behind CoreDNS's cache. A pod's
   * own name resolves at once in its own hosts file, as the kubelet writes it. 0 publishes every change at once.
   * @default $SLOTFORGE_DNS_DELAY (a duration: `5s`, `500ms`) or {@link DEFAULT_DNS_DELAY_MS} (5 s)
   */
  readonly dnsDelayMs?: number;
  /** Called for every event (pod scheduled, container exited, probe failed, ...). */
  readonly onEvent?: (event: RuntimeEvent) => void;
  /** Scales the kubelet's and the Job controller's back-off timers (tests). @default 1 */
  readonly timeScale?: number;
  /**
   * API groups whose CustomResourceDefinitions stand installed (an operator's: `monitoring.coreos.com`), so their
   * kinds are admitted without a CRD object (`--assume-crds`).
   * @default $SLOTFORGE_ASSUME_CRDS (comma-separated) or none
   */
  readonly assumeCrds?: readonly string[];
}

/** One line of the runtime's event log. */
export interface RuntimeEvent {
  readonly at: string;
  readonly object: string;
  readonly message: string;
}

/** The runtime's name prefix for a state dir: every namespace, link, rule and hosts block carries it. */
export function runtimePrefix(stateDir: string): string {
  return `sfl${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 4)}`;
}

/** The DNS delay of {@link LocalRuntimeOptions.dnsDelayMs}, resolved. */
export function dnsDelayOf(options: LocalRuntimeOptions): number {
  return (
    options.dnsDelayMs ??
    (process.env.SLOTFORGE_DNS_DELAY
      ? parseDnsDelay(process.env.SLOTFORGE_DNS_DELAY, 'SLOTFORGE_DNS_DELAY')
      : DEFAULT_DNS_DELAY_MS)
  );
}

/**
 * What a runtime must hold before it creates anything: its manifests admitted, root, the leftovers of dead runtimes
 * swept, a free subnet, and (with host DNS) the host's DNS claim for its namespaces.
 */
export async function reserveRuntime(
  options: LocalRuntimeOptions,
): Promise<{ subnet: string; claim: HostDnsClaim | undefined }> {
  await admitOrThrow(options.manifests, assumedCrds(options));
  if (process.getuid?.() !== 0) {
    throw new LocalRuntimeError(
      'E_NOT_ROOT',
      'the local runtime needs root: every pod gets a network namespace, a veth on a private bridge and a mount namespace for its volumes (run as root; as another user `slotforge up` runs it in a user namespace by itself, and a script or test runs in one with `slotforge unshare -- CMD`)',
    );
  }
  // What runtimes whose owner died left behind (any state dir) goes first.
  await sweepOrphans();
  const prefix = runtimePrefix(options.stateDir);
  const subnet = await freeSubnet(Number.parseInt(prefix.slice(3), 16));
  const claim =
    options.hostDns === false
      ? undefined
      : await claimHostDns(
          options.stateDir,
          [...options.manifests.services.values()].map(namespaceOf),
          options.hostDnsWaitMs ?? Number(process.env.SLOTFORGE_HOST_DNS_WAIT_MS ?? 0),
        );
  return { subnet, claim };
}

/** The state dir's dirs, the published objects, an empty cluster DNS hosts file and the resolv.conf every pod mounts. */
export function prepareStateDir(paths: ReturnType<typeof statePaths>, manifests: ManifestSet): void {
  for (const dir of [paths.root, paths.pods, paths.pvc, paths.logs, paths.api]) mkdirSync(dir, { recursive: true });
  publishApplied(paths.api, manifests);
  writeFileSync(paths.hostsFile, renderPodHosts([]));
  writeFileSync(
    paths.resolvFile,
    '# slotforge local runtime: names come from /etc/hosts only\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n',
  );
}

/** Records the runtime in its state dir (runtime.json) and in the host's list of runtimes (for the orphan sweep). */
export function recordStarted(
  paths: ReturnType<typeof statePaths>,
  runtime: { prefix: string; subnet: string; files: readonly string[] },
): void {
  writeFileSync(
    paths.runtimeFile,
    `${JSON.stringify({ prefix: runtime.prefix, subnet: runtime.subnet, pid: process.pid, files: runtime.files, startedAt: new Date().toISOString() }, null, 2)}\n`,
  );
  recordRuntime({ prefix: runtime.prefix, stateDir: paths.root, pid: process.pid });
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

/**
 * The object store: Secrets of the manifests are stored there at start and apply, next to the ones the runtime's
 * kubectl writes (in the state dir), so the last writer wins as on an API server.
 */
export function liveObjectStore(stateDir: string, manifests: ManifestSet): ObjectStore {
  return {
    configMap: (ns, name) => manifests.configMaps.get(`${ns}/${name}`)?.data,
    secret: (ns, name) => {
      const stored = storedSecret(stateDir, ns, name);
      if (stored) return stored;
      const secret = manifests.secrets.get(`${ns}/${name}`);
      return secret ? { ...decode(secret.data), ...secret.stringData } : undefined;
    },
  };
}
