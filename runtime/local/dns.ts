import { closeSync, fstatSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';

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
 * leave the mounts on the old inode. The file is never truncated, because a resolver reading it between a truncate and
 * the write sees it empty and answers "Name or service not known" for a live pod (bootstrap.sh met a member at an
 * empty address in a CI rehearsal; CoreDNS answers from a consistent view). Instead the new records are written over
 * the old ones in one write, and when they are shorter the rest of the old length is filled with one comment line, so
 * a reader sees either the old or the new records and never an old tail.
 */
export function writeInPlace(path: string, content: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    writeFileSync(path, content);
    return;
  }
  try {
    const data = padded(content, fstatSync(fd).size);
    writeSync(fd, data, 0, data.length, 0);
  } finally {
    closeSync(fd);
  }
}

/** `content` filled up to `length` bytes with a trailing comment line (unchanged when it is that long already). */
export function padded(content: string, length: number): Buffer {
  const data = Buffer.from(content);
  const missing = length - data.length;
  if (missing <= 0) return data;
  const filler = missing === 1 ? '\n' : `#${' '.repeat(missing - 2)}\n`;
  return Buffer.concat([data, Buffer.from(filler)]);
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

/**
 * How long a DNS change takes to reach clients by default: the CoreDNS kubernetes plugin's default TTL. Within it a
 * client behind CoreDNS's `cache` still gets the old answer: the old address of a recreated pod, or NXDOMAIN for a
 * name it looked up before the pod existed (the cache keeps a denial for the SOA minimum, which the plugin sets to the
 * same TTL). docs/local-runtime.md (DNS) says why 5 s and what kind and minikube do.
 * @see https://coredns.io/plugins/kubernetes/
 * @see https://coredns.io/plugins/cache/
 */
export const DEFAULT_DNS_DELAY_MS = 5000;

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/**
 * Parses a DNS delay: milliseconds as a number, or a duration `500ms`, `5s`, `1m`; names the field and the rule.
 */
export function parseDnsDelay(raw: string | number, field = 'dnsDelay'): number {
  const text = String(raw).trim();
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  // A bare number is ms from code, and only 0 from a user (5 alone could mean seconds or ms).
  const unit = match?.[2] ?? (typeof raw === 'number' || text === '0' ? 'ms' : undefined);
  const ms = match && unit ? Number(match[1]) * (DURATION_UNITS[unit] ?? Number.NaN) : Number.NaN;
  if (!Number.isFinite(ms) || ms > 600_000) {
    throw new Error(
      `${field} must be a duration from 0 to 10m such as 5s, 500ms or 0 (got '${text}'): it is how long a DNS change takes to reach clients`,
    );
  }
  return Math.round(ms);
}

/** One pending or published state of a set of names: the addresses they resolve to. */
interface NameState {
  /** The addresses clients see now. */
  visible: readonly string[];
  /** Changes on their way, oldest first: the addresses and when clients see them. */
  pending: Array<{ at: number; ips: readonly string[] }>;
}

/**
 * The records clients see when every change reaches them `delayMs` late, per record: a new name resolves `delayMs`
 * after it appeared (as a name a client looked up while it was missing stays NXDOMAIN for the negative TTL), a moved
 * one keeps its old address for `delayMs` (the positive TTL), a removed one still resolves for `delayMs`. Changes of
 * one name reach clients in order; changes of different names are independent. A pure function of the calls and the
 * clock, so it is unit-tested without timers.
 */
export class DelayedRecords {
  readonly #names = new Map<string, NameState>();
  /** Every name set seen, in first-seen order, so the file keeps a stable order. */
  readonly #order: string[] = [];

  #delayMs: number;

  constructor(delayMs: number) {
    this.#delayMs = delayMs;
  }

  get delayMs(): number {
    return this.#delayMs;
  }

  /**
   * Changes the delay from `now` on: changes after it take the new delay, and a change on its way reaches clients no
   * later than `now + delayMs` (a shorter TTL caps what caches hold; a longer one does not stretch what they hold).
   */
  setDelay(delayMs: number, now: number): void {
    this.#delayMs = delayMs;
    for (const state of this.#names.values()) {
      for (const change of state.pending) change.at = Math.min(change.at, now + delayMs);
    }
  }

  /** How many names have a change on its way to clients. */
  get pending(): number {
    let count = 0;
    for (const state of this.#names.values()) if (state.pending.length > 0) count++;
    return count;
  }

  /**
   * Feeds the records as they are at `now`; returns the records clients see at `now` and when the next pending
   * change comes due (undefined when none is pending).
   */
  update(records: readonly HostRecord[], now: number): { visible: HostRecord[]; nextAt: number | undefined } {
    const truth = new Map<string, string[]>();
    for (const r of records) {
      const key = r.names.join(' ');
      if (!truth.has(key)) truth.set(key, []);
      if (!truth.get(key)!.includes(r.ip)) truth.get(key)!.push(r.ip);
    }
    for (const key of truth.keys()) {
      if (!this.#names.has(key)) {
        this.#names.set(key, { visible: [], pending: [] });
        this.#order.push(key);
      }
    }
    let nextAt: number | undefined;
    for (const [key, state] of this.#names) {
      const ips = truth.get(key) ?? [];
      const latest = state.pending.at(-1)?.ips ?? state.visible;
      if (!sameIps(latest, ips)) state.pending.push({ at: now + this.#delayMs, ips });
      while (state.pending.length > 0 && state.pending[0]!.at <= now) state.visible = state.pending.shift()!.ips;
      if (state.pending.length > 0) nextAt = Math.min(nextAt ?? Number.POSITIVE_INFINITY, state.pending[0]!.at);
    }
    const visible: HostRecord[] = [];
    for (const key of this.#order) {
      const state = this.#names.get(key)!;
      for (const ip of state.visible) visible.push({ ip, names: key.split(' ') });
    }
    // Forget names that are gone and have nothing on the way.
    for (let i = this.#order.length - 1; i >= 0; i--) {
      const key = this.#order[i]!;
      const state = this.#names.get(key)!;
      if (state.visible.length === 0 && state.pending.length === 0) {
        this.#names.delete(key);
        this.#order.splice(i, 1);
      }
    }
    return { visible, nextAt };
  }
}

function sameIps(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((ip) => b.includes(ip));
}

/**
 * The lines the kubelet writes into a pod's own /etc/hosts: its address with its FQDN and hostname when it has a
 * subdomain, else its hostname alone. A pod resolves its own name at once, whatever DNS delay the cluster has.
 * @see https://kubernetes.io/docs/tasks/network/customize-hosts-file-for-pods/
 */
export function ownRecord(ip: string, hostname: string, subdomain: string | undefined, namespace: string): HostRecord {
  return { ip, names: subdomain ? [podNames(hostname, subdomain, namespace)[0]!, hostname] : [hostname] };
}
