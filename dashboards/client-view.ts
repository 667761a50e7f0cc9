import { CLIENT_METRICS as C, histogramSeries, CLIENT_LABELS as L } from './metric-names.ts';
import type { DashboardSpec, PanelSpec } from './panels.ts';

const J = 'job=~"$job"';
const RI = '$__rate_interval';
const rate = (name: string) => `rate(${name}{${J}}[${RI}])`;
const loader = histogramSeries(C.loaderDuration);

const quantile = (q: number) => `histogram_quantile(${q}, sum by (job, le) (${rate(loader.bucket)}))`;

const cacheRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Cache hit ratio',
    description: 'Reads answered from the cache (near or Redis tier) over all reads, per application job.',
    unit: 'percentunit',
    min: 0,
    max: 1,
    queries: [
      {
        expr: `sum by (job) (${rate(C.cacheHits)}) / (sum by (job) (${rate(C.cacheHits)}) + sum by (job) (${rate(C.cacheMisses)}))`,
        legend: '{{job}}',
      },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Hits by tier and misses',
    description: 'Hits per second from the in-process near cache and from Redis, and misses (the loader ran).',
    unit: 'ops',
    queries: [
      { expr: `sum by (${L.tier}) (${rate(C.cacheHits)})`, legend: 'hit {{tier}}' },
      { expr: `sum(${rate(C.cacheMisses)})`, legend: 'miss' },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Stale values served',
    description:
      'Stale values served per second, by reason: refreshing (a refresh runs), redis-error or loader-error (fallback).',
    unit: 'ops',
    queries: [{ expr: `sum by (${L.reason}) (${rate(C.cacheStaleServed)})`, legend: '{{reason}}' }],
  },
];

const loaderRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Loader latency p50 / p99',
    description: 'How long the loaders (the calls to your database on a miss) take, from the loader histogram.',
    unit: 's',
    queries: [
      { expr: quantile(0.5), legend: 'p50 {{job}}' },
      { expr: quantile(0.99), legend: 'p99 {{job}}' },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Loader calls by outcome',
    description: 'Loader runs per second, ok or error.',
    unit: 'ops',
    queries: [{ expr: `sum by (${L.outcome}) (${rate(loader.count)})`, legend: '{{outcome}}' }],
  },
  {
    kind: 'timeseries',
    title: 'Coalesced calls',
    description:
      'Calls that waited for a load already in flight instead of running the loader: in this process or across processes.',
    unit: 'ops',
    queries: [{ expr: `sum by (${L.scope}) (${rate(C.coalescedCalls)})`, legend: '{{scope}}' }],
  },
];

const errorsRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Errors by code',
    description:
      'Client errors per second by code (E_TIMEOUT, E_CLUSTER_DOWN, ...); docs/monitoring.md maps codes to causes.',
    unit: 'ops',
    stacked: true,
    queries: [{ expr: `sum by (${L.code}) (${rate(C.errors)})`, legend: '{{code}}' }],
  },
  {
    kind: 'timeseries',
    title: 'Rate-limit decisions',
    description: 'Allowed and denied requests per second, per limiter.',
    unit: 'ops',
    queries: [
      {
        expr: `sum by (${L.limiter}, ${L.decision}) (${rate(C.rateLimitDecisions)})`,
        legend: '{{limiter}} {{decision}}',
      },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Near-cache invalidations and write-behind queue',
    description: 'Near-cache entries dropped per second by source, and entries waiting in the write-behind queue.',
    queries: [
      { expr: `sum by (${L.source}) (${rate(C.nearInvalidations)})`, legend: 'invalidated {{source}}' },
      { expr: `sum by (job) (${C.writeBehindQueue}{${J}})`, legend: 'write-behind queue {{job}}' },
    ],
  },
];

/** Circuit breaker and pub/sub de-duplication (issue 16, issue 15). */
const resilienceRow: PanelSpec[] = [
  {
    kind: 'timeseries',
    title: 'Circuit breaker',
    description:
      'Breaker state per job (0 closed, 1 half-open: probing, 2 open: the cache does not wait on Redis), state changes and calls answered without Redis (from the loader, a stale copy, or an immediate E_CIRCUIT_OPEN).',
    queries: [
      { expr: `max by (job) (${C.breakerState}{${J}})`, legend: 'state {{job}}' },
      { expr: `sum by (${L.state}) (${rate(C.breakerTransitions)})`, legend: 'entered {{state}}' },
      { expr: `sum by (${L.outcome}) (${rate(C.breakerShortCircuits)})`, legend: 'short-circuited {{outcome}}' },
    ],
  },
  {
    kind: 'timeseries',
    title: 'Pub/sub copies dropped',
    description:
      'Second copies of pub/sub messages dropped by the subscribers (same publisher and sequence number), e.g. after a partition heals.',
    unit: 'ops',
    queries: [{ expr: `sum by (${L.reason}) (${rate(C.pubsubDropped)})`, legend: '{{reason}}' }],
  },
];

/** The client view: what applications using the slotforge client see. */
export const clientView: DashboardSpec = {
  uid: 'slotforge-client',
  title: 'slotforge / Client',
  description: 'The slotforge client as applications see it: hit ratio, stale values, loaders, coalescing, errors.',
  tags: ['slotforge', 'redis', 'client'],
  jobMetric: C.cacheMisses,
  rows: [
    { title: 'Cache', panels: cacheRow },
    { title: 'Loaders', panels: loaderRow },
    { title: 'Errors and limits', panels: errorsRow },
    { title: 'Resilience', panels: resilienceRow },
  ],
};
