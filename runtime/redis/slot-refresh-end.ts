import type { Cluster } from 'ioredis';

/**
 * Ends ioredis' `slotsRefreshInterval` loop for good once `cluster` has ended. ioredis 6.0.0 re-arms that timer from
 * the callback of the refresh in flight, also when the cluster was closed meanwhile (`resetNodesRefreshInterval`'s
 * `nextRound`), so a closed cluster may refresh an empty pool every interval forever and keep the process alive:
 * `chaos run` ended its matrix runs with "still open: Timeout" that way (the leaked timer's callback, recorded
 * 2026-12-06, was that loop). After 'end' a refresh does nothing and calls nobody back, so the loop stops at its next
 * round. @slotforge/client keeps its own refresh instead (client/src/core/ioredis/slot-refresh.ts).
 */
export function endSlotRefreshOnClose(cluster: Cluster): Cluster {
  cluster.once('end', () => {
    cluster.refreshSlotsCache = () => undefined;
  });
  return cluster;
}
