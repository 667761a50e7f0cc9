export { connectData } from './connect.ts';
export { spreadChannels } from './pubsub-delivery.ts';
export type { Workload, WorkloadContext } from './workload.ts';
