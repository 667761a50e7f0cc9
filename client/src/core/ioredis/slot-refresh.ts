/**
 * The periodic slot-map refresh of a cluster client, kept by us instead of ioredis' `slotsRefreshInterval`.
 *
 * ioredis re-arms its refresh timer from the callback of the refresh in flight (`resetNodesRefreshInterval` in
 * `refreshSlotsCache`'s callback), also when the cluster was closed meanwhile: the timer then fires forever on an
 * empty node pool and the process never exits after `close()` (issue 16: 10 of 10 runs with a busy event loop before
 * close, 5 of 10 with a 50 ms interval). This timer is unref'd (it never holds the process open by itself), skips
 * rounds while the client is not ready, and stops for good on `stop()`; concurrent refreshes are coalesced by ioredis.
 */

/** The part of an ioredis Cluster the refresher uses (this file does not import ioredis). */
export interface RefreshableCluster {
  readonly status: string;
  refreshSlotsCache(): void;
}

/** Refreshes `cluster`'s slot map every `intervalMs` while it is ready; returns the function that stops it. */
export function startSlotRefresh(cluster: RefreshableCluster, intervalMs: number): () => void {
  const timer = setInterval(() => {
    if (cluster.status === 'ready') cluster.refreshSlotsCache();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
