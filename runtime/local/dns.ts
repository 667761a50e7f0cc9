import { readFileSync, writeFileSync } from 'node:fs';

/** One name record: an address and the names that resolve to it. */
export interface HostRecord {
  readonly ip: string;
  readonly names: readonly string[];
}

/** The names Kubernetes DNS gives a Service `svc` in `ns` (as seen from a pod of `ns` and from other namespaces). */
export function serviceNames(service: string, namespace: string, domain = 'cluster.local'): string[] {
  return [`${service}.${namespace}.svc.${domain}`, `${service}.${namespace}.svc`, `${service}.${namespace}`, service];
}

/** The names of a pod `hostname` behind the headless Service `subdomain`. */
export function podNames(hostname: string, subdomain: string, namespace: string, domain = 'cluster.local'): string[] {
  return [
    `${hostname}.${subdomain}.${namespace}.svc.${domain}`,
    `${hostname}.${subdomain}.${namespace}.svc`,
    `${hostname}.${subdomain}.${namespace}`,
  ];
}

/** The hosts file every pod of the runtime mounts over /etc/hosts. */
export function renderPodHosts(records: readonly HostRecord[]): string {
  return [
    '# slotforge local runtime: cluster DNS as a hosts file',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...records.map((r) => `${r.ip}\t${r.names.join(' ')}`),
    '',
  ].join('\n');
}

/**
 * Writes `content` into `path` in place (same inode): the file is bind-mounted into every pod, and a rename would
 * leave the mounts on the old inode.
 */
export function writeInPlace(path: string, content: string): void {
  writeFileSync(path, content);
}

const begin = (tag: string) => `# BEGIN slotforge local runtime ${tag}`;
const end = (tag: string) => `# END slotforge local runtime ${tag}`;

/** `text` without the block marked with `tag`. */
export function withoutBlock(text: string, tag: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (line === begin(tag)) inside = true;
    else if (line === end(tag)) inside = false;
    else if (!inside) out.push(line);
  }
  return out.join('\n');
}

/** `text` with the block marked `tag` replaced by `records` (removed when there are none). */
export function withBlock(text: string, tag: string, records: readonly HostRecord[]): string {
  const rest = withoutBlock(text, tag).replace(/\n*$/, '\n');
  if (records.length === 0) return rest;
  return `${rest}${begin(tag)}\n${records.map((r) => `${r.ip}\t${r.names.join(' ')}`).join('\n')}\n${end(tag)}\n`;
}

/**
 * Maintains a marked block in the host's hosts file so clients on the host resolve pod and service names.
 */
export class HostHostsBlock {
  #last = '';
  constructor(
    readonly tag: string,
    readonly path = '/etc/hosts',
  ) {}

  update(records: readonly HostRecord[]): void {
    const key = JSON.stringify(records);
    if (key === this.#last) return;
    this.#last = key;
    rewriteHosts(this.path, (text) => withBlock(text, this.tag, records));
  }

  remove(): void {
    this.#last = '';
    removeHostsBlock(this.tag, this.path);
  }
}

/** Removes the block marked `tag` from the hosts file; true when there was one. */
export function removeHostsBlock(tag: string, path = '/etc/hosts'): boolean {
  let found = false;
  rewriteHosts(path, (text) => {
    found = text.includes(begin(tag));
    return withoutBlock(text, tag).replace(/\n*$/, '\n');
  });
  return found;
}

function rewriteHosts(path: string, change: (text: string) => string): void {
  const text = readFileSync(path, 'utf8');
  const next = change(text);
  // In place, never by rename: renaming over /etc/hosts detaches every bind mount over it in other mount namespaces
  // (Linux since 3.18), which would silently undo other runtimes' per-pod DNS.
  if (next !== text) writeFileSync(path, next);
}
