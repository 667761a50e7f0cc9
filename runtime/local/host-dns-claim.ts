import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isAlive, pollUntil } from '../process/index.ts';
import { LocalRuntimeError } from './errors.ts';

/**
 * Pod and Service names are the same in every runtime of the same manifests, so two runtimes publishing them in the
 * host's /etc/hosts would make host clients reach the wrong deployment (seen as WRONGPASS: the other one's
 * password). Per namespace, one runtime of the host holds a claim (`<dir>/<namespace>`, a directory because mkdir is
 * atomic) while it publishes names of that namespace.
 */
export const HOST_DNS_CLAIM_DIR = '/run/slotforge/host-dns';

interface Owner {
  readonly pid: number;
  readonly stateDir: string;
}

function readOwner(dir: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** True when `dir` holds no live claim: its owner died, or it has had no owner file for over 5 s. */
function stale(dir: string): boolean {
  const owner = readOwner(dir);
  if (owner) return !isAlive(owner.pid);
  try {
    return Date.now() - statSync(dir).mtimeMs > 5000;
  } catch {
    return true;
  }
}

/** A held claim; `release` is idempotent. */
export interface HostDnsClaim {
  release(): void;
}

/**
 * Claims host DNS of `namespaces` for the runtime of `stateDir` in this process, in name order (so two runtimes
 * never wait on each other). When another live runtime holds a namespace, waits up to `waitMs` (0: fail at once) and
 * then fails naming the holder and what to do. The same state dir takes its own claim over (a runtime restarted
 * after its supervisor died).
 */
export async function claimHostDns(
  stateDir: string,
  namespaces: readonly string[],
  waitMs: number,
  root = HOST_DNS_CLAIM_DIR,
): Promise<HostDnsClaim> {
  const held: HostDnsClaim[] = [];
  try {
    for (const namespace of [...new Set(namespaces)].sort()) {
      held.push(await claimOne(stateDir, namespace, waitMs, join(root, namespace)));
    }
  } catch (error) {
    for (const claim of held) claim.release();
    throw error;
  }
  return {
    release: () => {
      for (const claim of held) claim.release();
    },
  };
}

async function claimOne(stateDir: string, namespace: string, waitMs: number, dir: string): Promise<HostDnsClaim> {
  const me: Owner = { pid: process.pid, stateDir: resolve(stateDir) };
  mkdirSync(join(dir, '..'), { recursive: true });
  const tryClaim = (): boolean => {
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(dir);
      if (owner?.stateDir !== me.stateDir && !stale(dir)) return false;
      rmSync(dir, { recursive: true, force: true });
      return tryClaim();
    }
    writeFileSync(join(dir, 'owner.json'), JSON.stringify(me));
    return true;
  };
  const busy = () => {
    const owner = readOwner(dir);
    return new LocalRuntimeError(
      'E_HOST_DNS_BUSY',
      `another local runtime publishes names of namespace '${namespace}' in /etc/hosts (pid ${owner?.pid}, state dir ${owner?.stateDir}): run 'slotforge down --state-dir ${owner?.stateDir}' first, or start this one without host DNS`,
    );
  };
  if (!tryClaim()) {
    if (waitMs <= 0) throw busy();
    await pollUntil(tryClaim, { description: 'the host DNS claim', timeoutMs: waitMs, intervalMs: 200 }).catch(() => {
      throw busy();
    });
  }
  return { release: () => releaseOne(me.stateDir, dir) };
}

/** Drops every claim the runtime of `stateDir` holds (`down` after a crash, or `stop`); how many it dropped. */
export function releaseHostDns(stateDir: string, root = HOST_DNS_CLAIM_DIR): number {
  let dropped = 0;
  let namespaces: string[] = [];
  try {
    namespaces = readdirSync(root);
  } catch {
    return 0;
  }
  for (const namespace of namespaces) if (releaseOne(stateDir, join(root, namespace))) dropped++;
  return dropped;
}

function releaseOne(stateDir: string, dir: string): boolean {
  if (readOwner(dir)?.stateDir !== resolve(stateDir)) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}
