import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { harnessTempDir } from '../support/index.ts';
import type { Manifest } from './support/synth.ts';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const parent = harnessTempDir('infra-walkthrough');
afterAll(() => rmSync(parent, { recursive: true, force: true }));

/** API groups every Kubernetes API server serves without a CRD (core, apps, batch, policy, RBAC, networking). */
const BUILT_IN_API_VERSIONS = new Set([
  'v1',
  'apps/v1',
  'batch/v1',
  'policy/v1',
  'rbac.authorization.k8s.io/v1',
  'networking.k8s.io/v1',
]);

/** Objects of the .yaml files directly in `dir`: what `kubectl apply -f dir` (no --recursive) reads. */
function objectsIn(dir: string): Manifest[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJSON() as Manifest));
}

describe('the walkthrough output (npx cdk8s synth -o DIR)', () => {
  const out = join(parent, 'out');
  const synth = async () => {
    if (existsSync(join(out, 'monitoring'))) return;
    // The command users run, with -o: cdk8s passes DIR as CDK8S_OUTDIR and checks the app created it.
    await run(join(repo, 'node_modules', '.bin', 'cdk8s'), ['synth', '--no-check-upgrade', '-o', out], {
      cwd: repo,
      timeout: 60_000,
    });
  };

  it('writes the manifests into the directory given with -o', async () => {
    await synth();
    expect(readdirSync(out).filter((f) => f.endsWith('.k8s.yaml'))).toEqual([
      '0000-namespace.k8s.yaml',
      '0001-slotforge.k8s.yaml',
      '0002-slotforge-sentinel.k8s.yaml',
    ]);
  }, 60_000);

  it('holds only kinds a bare cluster serves, so kubectl apply -f DIR exits 0 without prometheus-operator', async () => {
    await synth();
    const foreign = objectsIn(out)
      .filter((o) => !BUILT_IN_API_VERSIONS.has(o.apiVersion))
      .map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`);
    expect(foreign).toEqual([]);
  }, 60_000);

  it('puts each PrometheusRule in DIR/monitoring next to a ServiceMonitor that scrapes the job it alerts on', async () => {
    await synth();
    const objects = objectsIn(join(out, 'monitoring'));
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
    const rules = objects.filter((o) => o.kind === 'PrometheusRule');
    expect(monitors.map((m) => `${m.metadata.namespace}/${m.metadata.name}`).sort()).toEqual([
      'slotforge-sentinel/sessions',
      'slotforge/redis',
    ]);
    expect(rules.length).toBe(2);
    // The Services the ServiceMonitors select, from the deployment manifests: their names are the scraped jobs.
    const services = objectsIn(out).filter((o) => o.kind === 'Service');
    const jobsOf = (namespace: string) =>
      monitors
        .filter((m) => m.metadata.namespace === namespace)
        .flatMap((m) =>
          services.filter(
            (s) =>
              s.metadata.namespace === namespace &&
              s.spec.ports.some((p: Manifest) => p.name === 'metrics') &&
              Object.entries(m.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v),
          ),
        )
        .map((s) => s.metadata.name);
    for (const rule of rules) {
      const jobs = jobsOf(rule.metadata.namespace);
      expect(jobs.length, `a ServiceMonitor in ${rule.metadata.namespace} selects a metrics Service`).toBe(1);
      const exprs: string[] = rule.spec.groups.flatMap((g: Manifest) => g.rules.map((r: Manifest) => r.expr));
      const exporterExprs = exprs.filter((e) => e.includes('job=~'));
      expect(exporterExprs.length).toBeGreaterThan(0);
      for (const expr of exporterExprs) expect(expr).toContain(`job=~"${jobs[0]}"`);
      // kube-prometheus-stack (Helm release kube-prometheus-stack) selects rules and monitors by `release`.
      expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    }
    for (const monitor of monitors) expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
  }, 60_000);
});
