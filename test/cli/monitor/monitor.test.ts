import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { MonitorReport } from '../../../cli/commands/index.ts';
import { PrometheusApi } from '../../../cli/monitor/index.ts';
import { isAlive, pollUntil } from '../../../runtime/process/index.ts';
import { synthDefaultCharts } from '../../runtime/local/index.ts';
import { harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../../support/index.ts';

const run = promisify(execFile);
const cli = (stateDir: string, ...args: string[]) =>
  run(process.execPath, ['bin/slotforge.js', '--state-dir', stateDir, ...args], { timeout: RUNTIME_HOOK_TIMEOUT_MS });

describe('slotforge monitor', () => {
  const parent = harnessTempDir('monitor-cli');
  const stateDir = join(parent, 'state');
  afterAll(async () => {
    if (existsSync(stateDir)) await cli(stateDir, 'down').catch(() => undefined);
    rmSync(parent, { recursive: true, force: true });
  }, 60_000);

  it('refuses to start when nothing is up, saying what to run', async () => {
    await expect(cli(stateDir, 'monitor', '--detach')).rejects.toMatchObject({
      stderr: expect.stringContaining("run 'slotforge up --detach' first"),
    });
  });

  it(
    'scrapes every node of the local deployment with the slotforge alerts loaded, and down stops it',
    async () => {
      // A clean clone has no dist/: synthesize the default charts into the test's own directory.
      const dist = await synthDefaultCharts(parent);
      await cli(stateDir, 'up', '--manifests', dist, '--detach', '--json');
      const { stdout } = await cli(stateDir, 'monitor', '--detach', '--json', '--interval', '1s');
      const report = JSON.parse(stdout) as MonitorReport;
      expect(report.exporters).toHaveLength(6);
      // What it scrapes is the pods' own redis_exporter sidecars from the manifests, at the pod IPs: it started no
      // exporter (the only process it started is Prometheus).
      for (const e of report.exporters) {
        expect(e).toMatchObject({ sidecar: true, metrics: `http://${e.redis.split(':')[0]}:9121/metrics` });
      }
      expect(report.pids).toHaveLength(1);
      expect(report.dashboards.map((d) => d.split('/').pop())).toEqual([
        'slotforge-client.json',
        'slotforge-cluster.json',
      ]);
      const api = new PrometheusApi(report.prometheusUrl);
      // Every node reports cluster_state ok through its exporter (auth from the recorded password works).
      const states = await pollUntil(
        async () => {
          const r = await api.query('redis_cluster_state == 1');
          return r.length === 6 ? r : false;
        },
        { description: 'cluster_state from 6 exporters', timeoutMs: 20_000, intervalMs: 250 },
      );
      expect(states.map((s) => s.metric.redis).sort()).toEqual(report.exporters.map((e) => e.redis).sort());
      expect(await api.ruleNames()).toContain('RedisInstanceDown');
      // A pod recreated with a new IP (as on Kubernetes) is followed: the runtime's discovery file moves the target.
      const moved = report.exporters.find((e) => e.node.endsWith('-1')) ?? report.exporters[0];
      if (!moved) throw new Error('no exporter to move');
      const oldAddress = new URL(moved.metrics).host;
      const deletedAt = Date.now();
      await cli(stateDir, 'delete', moved.node);
      const followed = await pollUntil(
        async () => {
          const targets = await api.targets();
          const target = targets.find((t) => t.labels.node === moved.node);
          const up = targets.filter((t) => t.health === 'up');
          return target && target.health === 'up' && !target.scrapeUrl.includes(oldAddress) && up.length === 6
            ? target
            : false;
        },
        { description: `the target of ${moved.node} to move off ${oldAddress} and be up`, timeoutMs: 90_000 },
      );
      console.log(
        `monitor followed ${moved.node} from ${oldAddress} to ${new URL(followed.scrapeUrl).host} in ${Date.now() - deletedAt} ms`,
      );
      expect(followed.labels.redis).not.toBe(moved.redis);
      // A second monitor is refused while the first runs.
      await expect(cli(stateDir, 'monitor', '--detach')).rejects.toMatchObject({
        stderr: expect.stringContaining('already running'),
      });
      await cli(stateDir, 'down');
      await pollUntil(() => report.pids.every((pid) => !isAlive(pid)), {
        description: 'monitor processes to be gone after down',
        timeoutMs: 10_000,
      });
      expect(existsSync(stateDir)).toBe(false);
    },
    RUNTIME_HOOK_TIMEOUT_MS,
  );
});
