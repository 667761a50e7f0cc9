/**
 * Metric names and label names, exported for dashboards: renaming a metric here breaks the dashboards build instead
 * of silently emptying a panel. Labels never carry key names (unbounded cardinality).
 */
export const METRIC_NAMES = {
  /** Counter, labels: tier ('near' | 'redis'). */
  cacheHits: 'slotforge_cache_hits_total',
  /** Counter. */
  cacheMisses: 'slotforge_cache_misses_total',
  /** Counter, labels: reason ('refreshing' | 'redis-error' | 'loader-error'). */
  cacheStaleServed: 'slotforge_cache_stale_served_total',
  /** Histogram (seconds), labels: outcome ('ok' | 'error'). */
  loaderDuration: 'slotforge_loader_duration_seconds',
  /** Counter of calls that waited for another caller's loader, labels: scope ('process' | 'distributed'). */
  coalescedCalls: 'slotforge_coalesced_calls_total',
  /** Counter, labels: code (an ErrorCode). */
  errors: 'slotforge_errors_total',
  /** Counter, labels: limiter (a name the caller gives, never a key), decision ('allowed' | 'denied'). */
  rateLimitDecisions: 'slotforge_ratelimit_decisions_total',
  /** Counter, labels: source ('tracking' | 'bus' | 'local' | 'flush'). */
  nearInvalidations: 'slotforge_near_cache_invalidations_total',
  /** Gauge of entries waiting in the write-behind queue. */
  writeBehindQueue: 'slotforge_write_behind_queue_size',
  /** Counter of pub/sub messages dropped by the subscriber's de-duplication window, labels: reason ('duplicate' | 'too-old'). */
  pubsubDropped: 'slotforge_pubsub_dropped_total',
  /** Gauge of the circuit breaker's state: 0 closed, 1 half-open, 2 open. */
  breakerState: 'slotforge_breaker_state',
  /** Counter of breaker transitions, labels: state (the state entered: 'open' | 'half-open' | 'closed'). */
  breakerTransitions: 'slotforge_breaker_transitions_total',
  /** Counter of calls answered without Redis while the breaker was open (loader or grace), labels: outcome ('loader' | 'stale' | 'error'). */
  breakerShortCircuits: 'slotforge_breaker_short_circuits_total',
} as const;

/** The label names used above. */
export const METRIC_LABELS = {
  tier: 'tier',
  reason: 'reason',
  outcome: 'outcome',
  scope: 'scope',
  code: 'code',
  limiter: 'limiter',
  decision: 'decision',
  source: 'source',
  state: 'state',
} as const;

/** Loader duration buckets: 0.1 ms to about 3.3 s (prom-client's default starts at 5 ms, too coarse for Redis). */
export const LOADER_BUCKETS_SECONDS: readonly number[] = Array.from({ length: 16 }, (_, i) => 0.0001 * 2 ** i);
