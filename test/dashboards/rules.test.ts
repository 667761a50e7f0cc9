import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Chart, Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ALERT_NAMES,
  type AlertDeployment,
  alertDefinitions,
  prometheusRuleGroups,
  prometheusRulesFile,
  RULES_FILE_NAME,
} from '../../dashboards/index.ts';
import { RedisCluster, RedisSentinel } from '../../infra/index.ts';
import { harnessTempDir } from '../support/index.ts';

const run = promisify(execFile);
/** The promtool unit tests of each deployment's rule set, and the rules file name each one loads. */
const RULE_TESTS = {
  cluster: { tests: join(import.meta.dirname, 'rules', 'alerts.test.yaml'), rulesFile: RULES_FILE_NAME },
  sentinel: {
    tests: join(import.meta.dirname, 'rules', 'sentinel-alerts.test.yaml'),
    rulesFile: 'slotforge-sentinel-alerts.rules.yaml',
  },
} as const;
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs `promtool test rules` on our unit tests against the given rules file; resolves to the exit code and output. */
async function promtoolTest(
  rules: string,
  deployment: AlertDeployment = 'cluster',
): Promise<{ code: number; output: string }> {
  const dir = harnessTempDir('promtool');
  dirs.push(dir);
  writeFileSync(join(dir, RULE_TESTS[deployment].rulesFile), rules);
  copyFileSync(RULE_TESTS[deployment].tests, join(dir, 'alerts.test.yaml'));
  try {
    const { stdout, stderr } = await run('promtool', ['test', 'rules', 'alerts.test.yaml'], { cwd: dir });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('alert rules', () => {
  it('pass promtool check rules', async () => {
    const dir = harnessTempDir('promtool');
    dirs.push(dir);
    const file = join(dir, RULES_FILE_NAME);
    writeFileSync(file, prometheusRulesFile());
    const { stdout } = await run('promtool', ['check', 'rules', file]);
    expect(stdout).toContain(`SUCCESS: ${alertDefinitions().length} rules found`);
  });

  it.each(['cluster', 'sentinel'] as const)(
    'the %s set passes its promtool unit tests, which cover every alert of the set',
    async (deployment) => {
      const tests = readFileSync(RULE_TESTS[deployment].tests, 'utf8');
      const inClusterSet = new Set(alertDefinitions().map((a) => a.alert));
      for (const { alert } of alertDefinitions({ deployment })) {
        // An alert both sets ship is the same rule (only the job regex differs): the cluster tests cover it.
        if (deployment === 'sentinel' && inClusterSet.has(alert)) continue;
        expect(tests, `no promtool test fires ${alert}`).toContain(`alertname: ${alert}`);
      }
      const result = await promtoolTest(prometheusRulesFile({ deployment }), deployment);
      expect(result.output).toContain('SUCCESS');
      expect(result.code).toBe(0);
    },
  );

  it('one set of alerts: the two deployments together ship every alert, each at most once', () => {
    const cluster = alertDefinitions().map((a) => a.alert);
    const sentinel = alertDefinitions({ deployment: 'sentinel' }).map((a) => a.alert);
    expect([...new Set([...cluster, ...sentinel])].sort()).toEqual([...ALERT_NAMES].sort());
    expect(cluster).not.toContain('RedisSentinelNoPrimary');
    expect(sentinel).not.toContain('RedisClusterStateNotOk');
    expect(alertDefinitions({ clientAlerts: false }).map((a) => a.alert)).not.toContain('SlotforgeClientErrorRate');
    expect(() => alertDefinitions({ deployment: 'standalone' as AlertDeployment })).toThrow(
      /deployment must be 'cluster' or 'sentinel' \(got 'standalone'\)/,
    );
  });

  it('fail the promtool unit tests when a threshold changes', async () => {
    const broken = prometheusRulesFile({ memoryRatio: 0.97 });
    const result = await promtoolTest(broken);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('RedisMemoryNearMax');
  });

  it('are the rules of the RedisCluster and RedisSentinel PrometheusRules too, each on its own Service job', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'ns' });
    new RedisCluster(chart, 'sessions', { metrics: { prometheusRule: true } });
    new RedisSentinel(chart, 'cache', { metrics: { prometheusRule: true } });
    const specs = Testing.synth(chart).filter((o) => o.kind === 'PrometheusRule');
    const byName = Object.fromEntries(specs.map((o) => [o.metadata.name, o.spec]));
    expect(Object.keys(byName).sort()).toEqual(['cache', 'sessions']);
    expect(byName.sessions).toEqual(
      prometheusRuleGroups({ job: 'sessions', clientAlerts: false, groupName: 'sessions.rules' }),
    );
    expect(byName.cache).toEqual(
      prometheusRuleGroups({
        job: 'cache-metrics',
        deployment: 'sentinel',
        clientAlerts: false,
        groupName: 'cache.rules',
      }),
    );
  });

  it('take a `for` override and validate options, naming the option', () => {
    expect(alertDefinitions({ for: '0s' }).every((a) => a.for === '0s')).toBe(true);
    expect(() => alertDefinitions({ for: 'soon' })).toThrow(/for must be a Prometheus duration.*'soon'/);
    expect(() => alertDefinitions({ memoryRatio: 1.5 })).toThrow(/memoryRatio must be in \(0, 1\] \(got 1.5\)/);
  });

  it('link each alert to a runbook section of docs/monitoring.md', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'monitoring.md'), 'utf8');
    const anchors = new Set(
      [...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        (m[1] ?? '')
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const alert of [...alertDefinitions(), ...alertDefinitions({ deployment: 'sentinel' })]) {
      const anchor = alert.runbookUrl.split('#')[1] ?? '';
      expect(anchors.has(anchor), `${alert.alert}: no heading for #${anchor}`).toBe(true);
    }
  });
});
