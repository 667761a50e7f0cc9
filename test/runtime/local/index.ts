export { admin, clusterConverged, isMember, secret, synthDefaultCharts, waitConverged } from './chart-support.ts';
