import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollUntil, startProcess } from '../../../../runtime/process/index.ts';
import { harnessRegistry } from '../../../support/index.ts';
import type { ChartRun } from '../../support/index.ts';

export type PodKind = 'redis' | 'sentinel';

/** What support/client-driver.ts reports. */
export interface ClientDriverSummary {
  readonly ok: number;
  readonly failed: number;
  /** Longest time between two successful writes: the outage the application saw. */
  readonly maxGapMs: number;
  /** Acknowledged writes that did not read back. */
  readonly lost: number;
  readonly errors: string[];
}

/**
 * What the Sentinel tests read of a RedisSentinel run on the local runtime ({@link ChartRun}): the pods by kind, the
 * primary the sentinels name, their view of replicas and peers, and a client application beside them.
 */
export class SentinelViews {
  constructor(readonly run: ChartRun) {}

  get masterName(): string {
    const sts = this.run.objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name.endsWith('-redis'));
    const env = (sts?.spec.template.spec.containers[0].env ?? []) as Array<{ name: string; value?: string }>;
    return String(env.find((e) => e.name === 'SLOTFORGE_MASTER_NAME')?.value);
  }

  /** Names of the pods of `kind` (data pods or sentinels). */
  ofKind(kind: PodKind): string[] {
    return this.run.podNames(`${this.run.name}-${kind}-`);
  }

  /** The primary host (a pod DNS name) a sentinel reports, or undefined. */
  async primaryOf(sentinel: string): Promise<string | undefined> {
    const reply = await this.run.call(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName);
    return Array.isArray(reply) && reply.length === 2 ? String(reply[0]) : undefined;
  }

  /** The data pod whose DNS name `host` is. */
  podByHost(host: string | undefined): string | undefined {
    return this.ofKind('redis').find((p) => this.run.fqdn(p) === host);
  }

  /** Fields of `SENTINEL MASTER` on a sentinel. */
  async masterState(sentinel: string): Promise<Record<string, string>> {
    const reply = (await this.run.call(sentinel, 'SENTINEL', 'MASTER', this.masterName)) as string[];
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i] as string] = reply[i + 1] as string;
    return out;
  }

  /** Pods of `kind` that run now (not Pending, not terminating). */
  running(kind: PodKind): string[] {
    return this.ofKind(kind).filter((p) => {
      const pod = this.run.pod(p);
      return pod.phase === 'Running' && !pod.terminating;
    });
  }

  /**
   * Polls until every running sentinel names `primary`, sees every other running data pod as a healthy replica and
   * every other sentinel, and every replica's link is up.
   */
  async waitConverged(primary: string, timeoutMs = 30_000): Promise<void> {
    const host = this.run.fqdn(primary);
    await pollUntil(
      async () => {
        const replicas = this.running('redis').filter((p) => p !== primary);
        for (const s of this.running('sentinel')) {
          if ((await this.primaryOf(s)) !== host) return undefined;
          const seen = (await this.run.call(s, 'SENTINEL', 'REPLICAS', this.masterName)) as string[][];
          const healthy = seen.filter((f) => f[f.indexOf('flags') + 1] === 'slave').map((f) => f[f.indexOf('ip') + 1]);
          for (const r of replicas) if (!healthy.includes(this.run.fqdn(r))) return undefined;
          const peers = (await this.run.call(s, 'SENTINEL', 'SENTINELS', this.masterName)) as unknown[];
          if (peers.length < this.ofKind('sentinel').length - 1) return undefined;
        }
        for (const r of replicas) {
          const info = String(await this.run.call(r, 'INFO', 'replication'));
          if (!info.includes('master_link_status:up') || !info.includes(`master_host:${host}`)) return undefined;
        }
        return true;
      },
      { description: `sentinels and replicas to agree on ${primary}`, timeoutMs, intervalMs: 100 },
    );
  }

  /**
   * Starts support/client-driver.ts (`@slotforge/client` through the sentinels, as the `app` user) inside a mount
   * namespace whose /etc/hosts is the runtime's cluster DNS file, like a client pod that resolves the pods' DNS names.
   * Resolves once its first write succeeded; `result()` waits for its exit and returns its summary.
   */
  async startClientDriver(durationMs: number): Promise<{ result(): Promise<ClientDriverSummary> }> {
    const repo = join(import.meta.dirname, '..', '..', '..', '..');
    const driver = join(import.meta.dirname, 'client-driver.ts');
    const logFile = join(this.run.stateDir, '..', `client-driver-${Date.now()}.log`);
    const tsx = join(repo, 'node_modules', '.bin', 'tsx');
    const hostsFile = this.run.runtime.paths.hostsFile;
    const proc = await startProcess({
      command: 'unshare',
      args: ['--mount', 'sh', '-c', `mount --bind '${hostsFile}' /etc/hosts && exec '${tsx}' '${driver}'`],
      cwd: repo,
      env: {
        ...process.env,
        SENTINELS: JSON.stringify(
          this.ofKind('sentinel').map((p) => ({ host: this.run.fqdn(p), port: this.run.sentinelPort })),
        ),
        MASTER_NAME: this.masterName,
        SENTINEL_PASSWORD: this.run.password('sentinel-access'),
        APP_PASSWORD: this.run.password('app'),
        DURATION_MS: String(durationMs),
      },
      logFile,
      registry: harnessRegistry(),
      marker: 'client-driver.ts',
    });
    const output = () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    };
    await pollUntil(
      () => {
        if (!proc.running && !output().includes('ready')) throw new Error(`client driver exited: ${output()}`);
        return output().includes('ready');
      },
      { description: 'the client driver to write through the sentinels', timeoutMs: 20_000, intervalMs: 50 },
    );
    return {
      result: async () => {
        const { code } = await proc.exited;
        const last = output().trim().split('\n').pop() ?? '';
        if (code !== 0) throw new Error(`client driver exited with ${code}: ${output().slice(-1000)}`);
        return JSON.parse(last) as ClientDriverSummary;
      },
    };
  }
}
