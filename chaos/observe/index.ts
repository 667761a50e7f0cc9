export { changedRuns, watchClientSlots } from './client-slots.ts';
export type { FailoverTimeline } from './failover-timeline.ts';
export { failoverTimeline, timelineLines, timelineRows } from './failover-timeline.ts';
export { type FsyncSample, FsyncSpans } from './fsync-spans.ts';
export { callWithin, memberClient } from './member-client.ts';
export { type NodeObserverOptions, observeNodes } from './node-observer.ts';
