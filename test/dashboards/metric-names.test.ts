import { describe, expect, it } from 'vitest';
import {
  ALERT_NAMES,
  alertDefinitions,
  buildDashboards,
  CLIENT_METRICS,
  dashboardQueries,
  knownMetricNames,
  metricNamesIn,
} from '../../dashboards/index.ts';

const known = knownMetricNames();
const unknownIn = (expr: string) => metricNamesIn(expr).filter((n) => !known.has(n));

describe('metricNamesIn', () => {
  it('reads selectors and skips functions, label lists, matchers, ranges, numbers and keywords', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (job, le) (rate(slotforge_loader_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))',
      ),
    ).toEqual(['slotforge_loader_duration_seconds_bucket']);
    expect(
      metricNamesIn(
        'redis_master_repl_offset{job=~"a"} - on (instance, job) group_right redis_connected_slave_offset_bytes',
      ),
    ).toEqual(['redis_master_repl_offset', 'redis_connected_slave_offset_bytes']);
    expect(metricNamesIn('(a_total offset 5m > bool 1e3) and on(instance) b{role="master"} unless c')).toEqual([
      'a_total',
      'b',
      'c',
    ]);
    expect(metricNamesIn('time() - redis_rdb_last_save_timestamp_seconds > 0.5')).toEqual([
      'redis_rdb_last_save_timestamp_seconds',
    ]);
    expect(metricNamesIn('sum without (cmd) (x{cmd="by (foo)"})')).toEqual(['x']);
  });
});

describe('one source for metric names', () => {
  const dashboards = buildDashboards();

  it.each(dashboards.map((d) => [d.name, d] as const))(
    'every query of the %s dashboard names known metrics',
    (_, d) => {
      const queries = dashboardQueries(d.model);
      expect(queries.length).toBeGreaterThan(5);
      for (const q of queries) {
        // A query that names no metric at all would pass vacuously: a parser bug must not hide a panel.
        expect(metricNamesIn(q.expr), `${q.panel} ${q.refId}: ${q.expr}`).not.toEqual([]);
        expect(unknownIn(q.expr), `${q.panel} ${q.refId}: ${q.expr}`).toEqual([]);
      }
    },
  );

  it('every alert expression of both deployments names known metrics', () => {
    const alerts = [...alertDefinitions(), ...alertDefinitions({ deployment: 'sentinel' })];
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(ALERT_NAMES.length);
    for (const a of alerts) {
      expect(metricNamesIn(a.expr), a.alert).not.toEqual([]);
      expect(unknownIn(a.expr), `${a.alert}: ${a.expr}`).toEqual([]);
    }
  });

  it('flags a metric that is not in the lists', () => {
    expect(unknownIn('rate(redis_commands_processed_total[1m]) / redis_keyspace_hitz_total')).toEqual([
      'redis_keyspace_hitz_total',
    ]);
    expect(unknownIn('slotforge_cache_hit_total')).toEqual(['slotforge_cache_hit_total']);
  });

  it('the client view shows every metric the client exports', () => {
    const client = dashboards.find((d) => d.name === 'client');
    const used = new Set(dashboardQueries(client!.model).flatMap((q) => metricNamesIn(q.expr)));
    for (const name of Object.values(CLIENT_METRICS)) {
      expect(
        [...used].some((u) => u === name || u.startsWith(`${name}_`)),
        name,
      ).toBe(true);
    }
  });
});
