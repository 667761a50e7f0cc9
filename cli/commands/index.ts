export type { MonitorReport } from './monitor.ts';
