import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorCode } from '../core/index.ts';
import { LOADER_BUCKETS_SECONDS, METRIC_NAMES } from './names.ts';

/** What pattern modules record. Every method is cheap and never throws. */
export interface Metrics {
  hit(tier: 'near' | 'redis'): void;
  miss(): void;
  stale(reason: 'refreshing' | 'redis-error' | 'loader-error'): void;
  loader(seconds: number, outcome: 'ok' | 'error'): void;
  coalesced(scope: 'process' | 'distributed'): void;
  error(code: ErrorCode): void;
  rateLimit(limiter: string, allowed: boolean): void;
  nearInvalidation(source: 'tracking' | 'bus' | 'local' | 'flush', count?: number): void;
  writeBehindQueue(size: number): void;
  pubsubDropped(reason: 'duplicate' | 'too-old'): void;
  /** The breaker entered `state`. */
  breaker(state: 'closed' | 'half-open' | 'open'): void;
  /** A call was answered without Redis while the breaker was open. */
  breakerShortCircuit(outcome: 'loader' | 'stale' | 'error'): void;
}

/** Records nothing: used when no Registry is injected. */
export const noopMetrics: Metrics = {
  hit() {},
  miss() {},
  stale() {},
  loader() {},
  coalesced() {},
  error() {},
  rateLimit() {},
  nearInvalidation() {},
  writeBehindQueue() {},
  pubsubDropped() {},
  breaker() {},
  breakerShortCircuit() {},
};

const DROP_REASONS = ['duplicate', 'too-old'] as const satisfies ReadonlyArray<Parameters<Metrics['pubsubDropped']>[0]>;
const BREAKER_STATES = ['closed', 'half-open', 'open'] as const satisfies ReadonlyArray<
  Parameters<Metrics['breaker']>[0]
>;
const SHORT_CIRCUIT_OUTCOMES = ['loader', 'stale', 'error'] as const satisfies ReadonlyArray<
  Parameters<Metrics['breakerShortCircuit']>[0]
>;

/** Breaker states as the gauge's values. */
const BREAKER_GAUGE = { closed: 0, 'half-open': 1, open: 2 } as const;

type PromClient = typeof import('prom-client');

/**
 * Creates the client's metrics on an injected Registry. prom-client is an optional peer dependency, loaded only
 * when a registry is given. Two clients on one registry share the metrics (the second reuses the first's).
 */
export function createMetrics(registry: Registry | undefined): Metrics {
  if (!registry) return noopMetrics;
  const prom = createRequire(import.meta.url)('prom-client') as PromClient;
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new prom.Counter({ name, help, labelNames, registers: [registry] });
  const hits = counter(METRIC_NAMES.cacheHits, 'Cache hits by tier', ['tier']);
  const misses = counter(METRIC_NAMES.cacheMisses, 'Cache misses (the loader ran or the key was absent)', []);
  const stale = counter(METRIC_NAMES.cacheStaleServed, 'Stale values served, by reason', ['reason']);
  const coalesced = counter(METRIC_NAMES.coalescedCalls, 'Calls that waited for another caller loading the same key', [
    'scope',
  ]);
  const errors = counter(METRIC_NAMES.errors, 'Errors by code', ['code']);
  const decisions = counter(METRIC_NAMES.rateLimitDecisions, 'Rate-limit decisions', ['limiter', 'decision']);
  const near = counter(METRIC_NAMES.nearInvalidations, 'Near-cache invalidations by source', ['source']);
  const loader =
    (registry.getSingleMetric(METRIC_NAMES.loaderDuration) as Histogram<'outcome'> | undefined) ??
    new prom.Histogram({
      name: METRIC_NAMES.loaderDuration,
      help: 'Loader duration in seconds',
      labelNames: ['outcome'],
      buckets: [...LOADER_BUCKETS_SECONDS],
      registers: [registry],
    });
  const gauge = (name: string, help: string): Gauge =>
    (registry.getSingleMetric(name) as Gauge | undefined) ?? new prom.Gauge({ name, help, registers: [registry] });
  const queue = gauge(METRIC_NAMES.writeBehindQueue, 'Write-behind entries waiting');
  const dropped = counter(METRIC_NAMES.pubsubDropped, 'Pub/sub messages dropped by the de-duplication window', [
    'reason',
  ]);
  const transitions = counter(METRIC_NAMES.breakerTransitions, 'Circuit breaker transitions by state entered', [
    'state',
  ]);
  const shortCircuits = counter(METRIC_NAMES.breakerShortCircuits, 'Calls answered without Redis (breaker open)', [
    'outcome',
  ]);
  const breakerState = gauge(METRIC_NAMES.breakerState, 'Circuit breaker state: 0 closed, 1 half-open, 2 open');
  // Series of rare events start at 0 for every known label value, so rate() and the dashboards have data (and an
  // alert on an increase can fire on the first event) before anything happened: Prometheus' instrumentation advice.
  for (const reason of DROP_REASONS) dropped.inc({ reason }, 0);
  for (const state of BREAKER_STATES) transitions.inc({ state }, 0);
  for (const outcome of SHORT_CIRCUIT_OUTCOMES) shortCircuits.inc({ outcome }, 0);
  return {
    pubsubDropped: (reason) => dropped.inc({ reason }),
    breaker: (state) => {
      breakerState.set(BREAKER_GAUGE[state]);
      transitions.inc({ state });
    },
    breakerShortCircuit: (outcome) => shortCircuits.inc({ outcome }),
    hit: (tier) => hits.inc({ tier }),
    miss: () => misses.inc(),
    stale: (reason) => stale.inc({ reason }),
    loader: (seconds, outcome) => loader.observe({ outcome }, seconds),
    coalesced: (scope) => coalesced.inc({ scope }),
    error: (code) => errors.inc({ code }),
    rateLimit: (limiter, allowed) => decisions.inc({ limiter, decision: allowed ? 'allowed' : 'denied' }),
    nearInvalidation: (source, count = 1) => near.inc({ source }, count),
    writeBehindQueue: (size) => queue.set(size),
  };
}
