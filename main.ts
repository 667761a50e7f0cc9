import { App } from 'cdk8s';
import { defaultCharts } from './charts.ts';

// `npx cdk8s synth` runs this file: the default charts (charts.ts) into dist/.
const app = new App({ outdir: 'dist' });
defaultCharts(app);
app.synth();
