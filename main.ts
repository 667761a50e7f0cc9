import { join } from 'node:path';
import { App } from 'cdk8s';
import { defaultCharts, monitoringCharts } from './charts.ts';

// `npx cdk8s synth [-o DIR]` runs this file; `-o` reaches it as CDK8S_OUTDIR (cdk8s.yaml's `output` otherwise).
// DIR: the default charts (charts.ts), only kinds a bare cluster knows, so `kubectl apply -f DIR` exits 0 on a fresh
// kind. DIR/monitoring: the dashboards, ServiceMonitors and PrometheusRules, for a cluster with kube-prometheus-stack.
const outdir = process.env.CDK8S_OUTDIR ?? 'dist';
const app = new App({ outdir });
const deployments = defaultCharts(app);
app.synth();
const monitoring = new App({ outdir: join(outdir, 'monitoring') });
monitoringCharts(monitoring, deployments);
monitoring.synth();
