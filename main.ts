import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';

// Placeholder until the RedisCluster construct lands (issue 3): a namespace for the default deployment.
const app = new App({ outdir: 'dist' });
const chart = new Chart(app, 'slotforge');
new k8s.KubeNamespace(chart, 'namespace', { metadata: { name: 'slotforge' } });
app.synth();
