export { DEFAULT_EXPORTER_IMAGE, EXPORTER_PORT, exporterContainer } from './exporter.ts';
export type { MonitoringTarget } from './monitoring.ts';
export { prometheusRule, serviceMonitor } from './monitoring.ts';
