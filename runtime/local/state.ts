import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Paths inside a local runtime's state dir. */
export function statePaths(stateDir: string) {
  const root = resolve(stateDir);
  return {
    root,
    /** prefix, subnet and pid of the runtime that runs (or ran) here. */
    runtimeFile: join(root, 'runtime.json'),
    /** The unix socket of the supervisor: status and fault verbs. */
    socket: join(root, 'control.sock'),
    /** PersistentVolumeClaim data: `<pvc>/<namespace>/<claim>`; survives pod recreation. */
    pvc: join(root, 'pvc'),
    /** One dir per pod incarnation: rendered volumes, emptyDirs, container logs. */
    pods: join(root, 'pods'),
    /** The object store of Secrets created inside the runtime (`<api>/<namespace>/secrets/<name>/<key>`). */
    api: join(root, 'api'),
    /** The cluster DNS hosts file every pod mounts over /etc/hosts. */
    hostsFile: join(root, 'hosts'),
    /** Mounted over /etc/resolv.conf in every pod. */
    resolvFile: join(root, 'resolv.conf'),
    /** Host paths created as mount points, one per line (removed at down when empty). */
    createdFile: join(root, 'created-paths'),
    /** Container logs, one file per pod incarnation and container. */
    logs: join(root, 'logs'),
    eventsFile: join(root, 'events.log'),
    /**
     * Prometheus file-based service discovery of the pods' exporter sidecars (`[{ targets, labels }]`), rewritten by
     * the supervisor when pods move, so a Prometheus reading it follows recreated pods to their new IPs. A file because
     * Prometheus's file_sd needs one; programs ask the control socket (`endpoints`) instead.
     */
    exportersSdFile: join(root, 'exporters.sd.json'),
    supervisorLog: join(root, 'supervisor.log'),
    /**
     * Host processes other commands start for this deployment (`slotforge monitor`'s Prometheus and exporters),
     * recorded so that `slotforge down` reaps them (runtime/process's registry).
     */
    registry: join(root, 'registry'),
  };
}

/** A Secret created inside the runtime (by a chart's Job through the runtime's kubectl), read from the host. */
export function storedSecret(stateDir: string, namespace: string, name: string): Record<string, string> | undefined {
  const dir = join(statePaths(stateDir).api, namespace, 'secrets', name);
  try {
    return Object.fromEntries(readdirSync(dir).map((key) => [key, readFileSync(join(dir, key), 'utf8')]));
  } catch {
    return undefined;
  }
}
