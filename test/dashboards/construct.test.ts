import { Testing } from 'cdk8s';
import { ConfigMap } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { buildDashboards, prometheusRuleGroups, RedisMonitoring } from '../../dashboards/index.ts';

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

  it('leaves the PrometheusRule out with alerts: false (clusters without the operator CRDs)', () => {
    expect(synth({ alerts: false }).map((m) => m.kind)).toEqual(['ConfigMap', 'ConfigMap']);
  });

  it('rejects a name prefix that is not a DNS label, naming the prop', () => {
    expect(() => synth({ namePrefix: 'Slot_Forge' })).toThrow(
      /RedisMonitoring 'monitoring': namePrefix must be a DNS label.*'Slot_Forge'/,
    );
  });
});
