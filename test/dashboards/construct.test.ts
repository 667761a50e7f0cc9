import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Chart, Testing } from 'cdk8s';
import { ConfigMap } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildDashboards, prometheusRuleGroups, RedisMonitoring } from '../../dashboards/index.ts';
import { harnessTempDir } from '../support/index.ts';

const run = promisify(execFile);

/**
 * The PrometheusRule CRD's schema (monitoring.coreos.com/v1), the parts the operator enforces: kubernetes-models has
 * no type for it. Returns the problems found.
 */
function prometheusRuleProblems(object: Manifest): string[] {
  const problems: string[] = [];
  const spec = object.spec as { groups?: unknown } | undefined;
  if (object.apiVersion !== 'monitoring.coreos.com/v1') problems.push(`apiVersion ${object.apiVersion}`);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(object.metadata.name)) problems.push('metadata.name is not DNS-1123');
  if (!Array.isArray(spec?.groups) || spec.groups.length === 0) return [...problems, 'spec.groups must be a list'];
  const names = new Set<string>();
  for (const [g, group] of (spec.groups as Array<Record<string, unknown>>).entries()) {
    if (typeof group.name !== 'string' || group.name === '') problems.push(`groups[${g}].name`);
    if (names.has(group.name as string)) problems.push(`groups[${g}].name is not unique`);
    names.add(group.name as string);
    for (const [r, rule] of ((group.rules as Array<Record<string, unknown>>) ?? []).entries()) {
      const where = `groups[${g}].rules[${r}]`;
      if ((typeof rule.alert === 'string') === (typeof rule.record === 'string'))
        problems.push(`${where}: alert xor record`);
      if (typeof rule.expr !== 'string' || rule.expr.trim() === '') problems.push(`${where}.expr`);
      if (
        rule.for !== undefined &&
        !/^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/.test(
          String(rule.for),
        )
      ) {
        problems.push(`${where}.for '${String(rule.for)}' is not a duration`);
      }
      for (const map of ['labels', 'annotations']) {
        const value = rule[map] as Record<string, unknown> | undefined;
        if (value && Object.values(value).some((v) => typeof v !== 'string'))
          problems.push(`${where}.${map} not strings`);
      }
    }
  }
  return problems;
}

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: unknown;
};

function synth(props: ConstructorParameters<typeof RedisMonitoring>[2] = {}): Manifest[] {
  const chart = Testing.chart();
  new RedisMonitoring(chart, 'monitoring', props);
  return Testing.synth(chart) as Manifest[];
}

describe('RedisMonitoring', () => {
  it('synthesizes one valid ConfigMap per dashboard, labelled for the Grafana sidecar, holding its JSON', () => {
    const manifests = synth({ namespace: 'monitoring', grafanaFolder: 'Redis' });
    const configMaps = manifests.filter((m) => m.kind === 'ConfigMap');
    const dashboards = buildDashboards();
    expect(configMaps.map((c) => c.metadata.name).sort()).toEqual(
      dashboards.map((d) => `slotforge-dashboard-${d.name}`).sort(),
    );
    for (const cm of configMaps) {
      new ConfigMap(cm as never).validate();
      expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
      expect(cm.metadata.namespace).toBe('monitoring');
      expect(cm.metadata.annotations?.grafana_folder).toBe('Redis');
      const [fileName, json] = Object.entries(cm.data ?? {})[0] ?? [];
      const built = dashboards.find((d) => d.fileName === fileName);
      expect(built, `unexpected file ${fileName}`).toBeDefined();
      expect(JSON.parse(json ?? '')).toEqual(JSON.parse(JSON.stringify(built?.model)));
    }
  });

  it('synthesizes the alerts as a monitoring.coreos.com/v1 PrometheusRule whose spec is the rules file', () => {
    const rule = synth({ ruleLabels: { release: 'kps' }, alertOptions: { job: 'slotforge-redis' } }).find(
      (m) => m.kind === 'PrometheusRule',
    );
    expect(rule?.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule?.metadata.name).toBe('slotforge-alerts');
    expect(rule?.metadata.labels).toMatchObject({ release: 'kps', 'app.kubernetes.io/part-of': 'slotforge' });
    expect(rule?.spec).toEqual(prometheusRuleGroups({ job: 'slotforge-redis' }));
    const rules = (rule?.spec as ReturnType<typeof prometheusRuleGroups> | undefined)?.groups[0]?.rules ?? [];
    for (const r of rules) {
      expect(r.expr).toMatch(/\S/);
      expect(r.annotations.runbook_url).toMatch(/^https:\/\/.+#[a-z]+$/);
      if (r.alert.startsWith('Redis')) expect(r.expr).toContain('job=~"slotforge-redis"');
    }
  });

  it('synthesizes a PrometheusRule that fits the CRD schema and whose spec promtool accepts', async () => {
    const rule = synth().find((m) => m.kind === 'PrometheusRule');
    if (!rule) throw new Error('no PrometheusRule');
    expect(prometheusRuleProblems(rule)).toEqual([]);
    // The checker can fail: a rule with both alert and record, and a bad duration.
    const broken = structuredClone(rule);
    Object.assign((broken.spec as { groups: Array<{ rules: object[] }> }).groups[0]?.rules[0] ?? {}, {
      record: 'x',
      for: 'soon',
    });
    expect(prometheusRuleProblems(broken)).toHaveLength(2);
    const dir = harnessTempDir('prometheusrule');
    try {
      writeFileSync(join(dir, 'spec.yaml'), stringify(rule.spec));
      const { stdout } = await run('promtool', ['check', 'rules', join(dir, 'spec.yaml')]);
      expect(stdout).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps every ConfigMap far below the 256 KiB that kubectl apply can annotate', () => {
    for (const cm of synth().filter((m) => m.kind === 'ConfigMap')) {
      expect(Buffer.byteLength(JSON.stringify(cm.data)), cm.metadata.name).toBeLessThan(128 * 1024);
    }
  });

  it('puts its objects in the chart namespace unless told otherwise (as main.ts would use it)', () => {
    const chart = new Chart(Testing.app(), 'slotforge', { namespace: 'slotforge' });
    new RedisMonitoring(chart, 'monitoring');
    const objects = Testing.synth(chart) as Manifest[];
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}/${o.metadata.namespace}`).sort()).toEqual([
      'ConfigMap/slotforge-dashboard-client/slotforge',
      'ConfigMap/slotforge-dashboard-cluster/slotforge',
      'PrometheusRule/slotforge-alerts/slotforge',
    ]);
  });

  it('leaves the PrometheusRule out with alerts: false (clusters without the operator CRDs)', () => {
    expect(synth({ alerts: false }).map((m) => m.kind)).toEqual(['ConfigMap', 'ConfigMap']);
  });

  it('rejects a name prefix that is not a DNS label, naming the prop', () => {
    expect(() => synth({ namePrefix: 'Slot_Forge' })).toThrow(
      /RedisMonitoring 'monitoring': namePrefix must be a DNS label.*'Slot_Forge'/,
    );
  });
});
