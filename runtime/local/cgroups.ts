import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollUntil } from '../process/index.ts';
import type { Container } from './types.ts';

/**
 * Container limits as the kubelet enforces them: one cgroup per container incarnation, with `resources.limits.memory`
 * as its memory limit (the kernel's OOM killer acts inside the cgroup when it is reached) and `resources.limits.cpu`
 * as a CFS quota per 100 ms period. cgroup v1 (the memory and cpu hierarchies) when mounted, else cgroup v2.
 * @see https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#how-pods-with-resource-limits-are-run
 */

/** Where the cgroup file systems are mounted. */
export const CGROUP_ROOT = '/sys/fs/cgroup';
/** The CFS period the kubelet uses (cpu-cfs-quota-period default 100 ms). */
export const CFS_PERIOD_US = 100_000;

/** The limits of one container, in bytes and millicores. */
export interface ContainerLimits {
  readonly memoryBytes?: number;
  readonly cpuMillis?: number;
}

const MEMORY_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** `resources.limits` of a container, parsed; a malformed quantity is an error naming the field and the rule. */
export function limitsOf(container: Container, where: string): ContainerLimits {
  const limits = container.resources?.limits ?? {};
  const out: { memoryBytes?: number; cpuMillis?: number } = {};
  if (limits.memory !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|)$/.exec(String(limits.memory));
    if (!m) {
      throw new Error(
        `${where}: resources.limits.memory must be a quantity such as 256Mi or 1G (got '${limits.memory}')`,
      );
    }
    out.memoryBytes = Math.ceil(Number(m[1]) * (MEMORY_UNITS[m[2] ?? ''] ?? 1));
  }
  if (limits.cpu !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(limits.cpu));
    if (!m) {
      throw new Error(`${where}: resources.limits.cpu must be a quantity such as 500m or 2 (got '${limits.cpu}')`);
    }
    out.cpuMillis = Math.ceil(Number(m[1]) * (m[2] === 'm' ? 1 : 1000));
  }
  return out;
}

/** The cgroup layout of this host: v1 hierarchies (memory, cpu) or the v2 unified tree. */
interface Layout {
  readonly version: 1 | 2;
  /** Dirs to create for a cgroup called `name`. */
  dirs(name: string): string[];
  /** Every cgroup dir named with `prefix`. */
  find(prefix: string): string[];
}

function listPrefixed(root: string, prefix: string): string[] {
  try {
    return readdirSync(root)
      .filter((n) => n.startsWith(`${prefix}-`))
      .map((n) => join(root, n));
  } catch {
    return [];
  }
}

function layout(root = CGROUP_ROOT): Layout | undefined {
  if (existsSync(join(root, 'memory', 'memory.limit_in_bytes'))) {
    const hierarchies = [join(root, 'memory'), join(root, 'cpu')].filter((h) => existsSync(h));
    return {
      version: 1,
      dirs: (name) => hierarchies.map((h) => join(h, name)),
      find: (prefix) => hierarchies.flatMap((h) => listPrefixed(h, prefix)),
    };
  }
  let controllers = '';
  try {
    controllers = readFileSync(join(root, 'cgroup.controllers'), 'utf8');
  } catch {
    return undefined;
  }
  if (!controllers.split(/\s+/).includes('memory')) return undefined;
  return { version: 2, dirs: (name) => [join(root, name)], find: (prefix) => listPrefixed(root, prefix) };
}

/**
 * The cgroup of one container incarnation. {@link ContainerCgroup.create} makes it and moves the container's process
 * in (right after spawn: the process is still the runtime's prelude, which execs the program with the same pid);
 * {@link ContainerCgroup.finish} (at exit) tells whether the OOM killer acted and removes it.
 */
export class ContainerCgroup {
  private constructor(
    readonly name: string,
    private readonly layout: Layout,
    readonly limits: ContainerLimits,
  ) {}

  /**
   * Creates the cgroup `name` with `limits` and moves `pid` into it. Undefined when this host has no usable cgroup
   * file system (the caller reports the limits as not enforced).
   */
  static create(name: string, limits: ContainerLimits, pid: number, root = CGROUP_ROOT): ContainerCgroup | undefined {
    const found = layout(root);
    if (!found) return undefined;
    const cgroup = new ContainerCgroup(name, found, limits);
    for (const dir of found.dirs(name)) mkdirSync(dir, { recursive: true });
    cgroup.#configure();
    for (const dir of found.dirs(name)) writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    return cgroup;
  }

  #file(v1: string, v2: string, hierarchy: 'memory' | 'cpu'): string | undefined {
    const dirs = this.layout.dirs(this.name);
    if (this.layout.version === 2) return join(dirs[0]!, v2);
    const dir = dirs.find((d) => d.includes(`/${hierarchy}/`));
    return dir && join(dir, v1);
  }

  #configure(): void {
    const { memoryBytes, cpuMillis } = this.limits;
    if (memoryBytes !== undefined) {
      // No swap here, so the memory limit is the whole limit (the kubelet's behaviour without swap).
      writeFileSync(this.#file('memory.limit_in_bytes', 'memory.max', 'memory')!, String(memoryBytes));
      if (this.layout.version === 2) writeFileSync(this.#file('', 'memory.swap.max', 'memory')!, '0');
    }
    if (cpuMillis !== undefined) {
      const quota = Math.max(1000, Math.round((cpuMillis * CFS_PERIOD_US) / 1000));
      if (this.layout.version === 2) {
        writeFileSync(this.#file('', 'cpu.max', 'cpu')!, `${quota} ${CFS_PERIOD_US}`);
      } else {
        const period = this.#file('cpu.cfs_period_us', '', 'cpu');
        const quotaFile = this.#file('cpu.cfs_quota_us', '', 'cpu');
        if (period && quotaFile) {
          writeFileSync(period, String(CFS_PERIOD_US));
          writeFileSync(quotaFile, String(quota));
        }
      }
    }
  }

  /** The dir of the cgroup's memory controller (v1 `memory/<name>`, v2 the cgroup itself). */
  memoryDir(): string {
    const dirs = this.layout.dirs(this.name);
    return this.layout.version === 2 ? dirs[0]! : dirs.find((d) => d.includes('/memory/'))!;
  }

  /** How many processes the OOM killer killed in this cgroup. */
  oomKills(): number {
    const file = this.#file('memory.oom_control', 'memory.events', 'memory');
    try {
      const match = /^oom_kill (\d+)$/m.exec(readFileSync(file!, 'utf8'));
      return match ? Number(match[1]) : 0;
    } catch {
      return 0;
    }
  }

  /** The highest memory use of the cgroup so far (bytes): memory.max_usage_in_bytes (v1) or memory.peak (v2). */
  peakMemoryBytes(): number {
    const file = this.#file('memory.max_usage_in_bytes', 'memory.peak', 'memory');
    try {
      return Number(readFileSync(file!, 'utf8').trim());
    } catch {
      return 0;
    }
  }

  /**
   * At the container's exit: whether the OOM killer acted in it (the kubelet then reports `OOMKilled`), and removes
   * the cgroup once the processes killed with the container are gone.
   */
  async finish(): Promise<{ oomKilled: boolean }> {
    const oomKilled = this.oomKills() > 0;
    await removeCgroupDirs(this.layout.dirs(this.name));
    return { oomKilled };
  }
}

/** rmdir each cgroup dir, waiting (up to 5 s) for its last processes to exit. */
async function removeCgroupDirs(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    await pollUntil(
      () => {
        try {
          rmdirSync(dir);
          return true;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code === 'ENOENT';
        }
      },
      { description: `cgroup ${dir} to be empty`, timeoutMs: 5000, intervalMs: 50 },
    ).catch(() => undefined);
  }
}

/** Cgroups named with `prefix` (what a runtime of that prefix left). */
export function cgroupLeftovers(prefix: string, root = CGROUP_ROOT): string[] {
  return layout(root)?.find(prefix) ?? [];
}

/** Kills what still runs in the cgroups named with `prefix` and removes them; how many it removed. */
export async function removeCgroups(prefix: string, root = CGROUP_ROOT): Promise<number> {
  const dirs = cgroupLeftovers(prefix, root);
  for (const dir of dirs) {
    let pids: string[] = [];
    try {
      pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    } catch {
      // gone
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  await removeCgroupDirs(dirs);
  return dirs.length - cgroupLeftovers(prefix, root).length;
}

/**
 * Moves a container's process, right after spawn, into a new cgroup `name` with the container's limits. When the
 * host has no usable cgroup file system, or writing it fails, says so through `report` and returns undefined: the
 * container runs without limits (as before this module) rather than not at all.
 */
export function joinContainerCgroup(
  name: string,
  limits: ContainerLimits,
  pid: number,
  report: (message: string) => void,
): ContainerCgroup | undefined {
  try {
    const cgroup = ContainerCgroup.create(name, limits, pid);
    if (!cgroup) report(`no cgroup file system: resources.limits not enforced`);
    return cgroup;
  } catch (error) {
    report(`could not make cgroup ${name}: ${(error as Error).message}; resources.limits not enforced`);
    return undefined;
  }
}
