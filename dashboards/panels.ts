import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  type Dashboard,
  DashboardBuilder,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
  VariableRefresh,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** One PromQL query of a panel. Expressions may use `$job` and `$__rate_interval`. */
export interface QuerySpec {
  readonly expr: string;
  /** Grafana legend, e.g. `{{instance}}`. */
  readonly legend?: string;
}

/** A panel, as data: the builders below turn it into Grafana JSON. */
export interface PanelSpec {
  readonly kind: 'timeseries' | 'stat';
  readonly title: string;
  /** Shown as the panel's (i) tooltip; docs/monitoring.md says the same at more length. */
  readonly description: string;
  /** A Grafana unit id: `short`, `bytes`, `percentunit`, `s`, `ops`, `Bps`. */
  readonly unit?: string;
  readonly queries: readonly QuerySpec[];
  /** Grid width (of 24). @default 8 for time series, 4 for stats */
  readonly width?: number;
  /** @default 8 for time series, 4 for stats */
  readonly height?: number;
  readonly min?: number;
  readonly max?: number;
  /** Thresholds as [value, color] steps after a base color: `[[1, 'green']]` over a red base. */
  readonly thresholds?: { readonly base: string; readonly steps: ReadonlyArray<readonly [number, string]> };
  /** Texts shown instead of values: `{ 0: ['fail', 'red'], 1: ['ok', 'green'] }`. */
  readonly valueText?: Readonly<Record<string, readonly [string, string]>>;
  readonly stacked?: boolean;
}

/** A row of panels. */
export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

/** A dashboard, as data. */
export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** A metric whose `job` label values fill the `$job` variable. */
  readonly jobMetric: string;
  readonly rows: readonly RowSpec[];
}

// Grafana's variable syntax, not a JavaScript template.
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function thresholdsOf(spec: PanelSpec): ThresholdsConfigBuilder | undefined {
  if (!spec.thresholds) return undefined;
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps([
      { value: null, color: spec.thresholds.base },
      ...spec.thresholds.steps.map(([value, color]) => ({ value, color })),
    ]);
}

function mappingsOf(spec: PanelSpec): ValueMapping[] | undefined {
  if (!spec.valueText) return undefined;
  const options = Object.fromEntries(
    Object.entries(spec.valueText).map(([value, [text, color]], index) => [value, { text, color, index }]),
  );
  return [{ type: MappingType.ValueToText, options }];
}

function targetsOf(spec: PanelSpec): DataqueryBuilder[] {
  return spec.queries.map((q, i) => {
    const target = new DataqueryBuilder()
      .expr(q.expr)
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE);
    return q.legend ? target.legendFormat(q.legend) : target;
  });
}

/** @internal */
export function buildPanel(spec: PanelSpec): stat.PanelBuilder | timeseries.PanelBuilder {
  const thresholds = thresholdsOf(spec);
  const mappings = mappingsOf(spec);
  if (spec.kind === 'stat') {
    const panel = new stat.PanelBuilder()
      .title(spec.title)
      .description(spec.description)
      .datasource(DATASOURCE)
      .span(spec.width ?? 4)
      .height(spec.height ?? 4)
      .unit(spec.unit ?? 'short')
      .colorMode(common.BigValueColorMode.Background)
      .graphMode(common.BigValueGraphMode.None)
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']));
    for (const t of targetsOf(spec)) panel.withTarget(t);
    if (thresholds) panel.thresholds(thresholds);
    if (mappings) panel.mappings(mappings);
    if (spec.min !== undefined) panel.min(spec.min);
    if (spec.max !== undefined) panel.max(spec.max);
    return panel;
  }
  const panel = new timeseries.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .span(spec.width ?? 8)
    .height(spec.height ?? 8)
    .unit(spec.unit ?? 'short')
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true),
    );
  for (const t of targetsOf(spec)) panel.withTarget(t);
  if (thresholds) panel.thresholds(thresholds);
  if (mappings) panel.mappings(mappings);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  if (spec.stacked) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  return panel;
}

/** Builds the Grafana dashboard JSON model of a spec, with `$datasource` and `$job` variables. */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([...spec.tags])
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('job')
        .label('Job')
        .datasource(DATASOURCE)
        .query(`label_values(${spec.jobMetric}, job)`)
        .definition(`label_values(${spec.jobMetric}, job)`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .includeAll(true)
        .allValue('.+')
        .multi(true),
    );
  for (const row of spec.rows) {
    builder.withRow(new RowBuilder(row.title));
    for (const panel of row.panels) builder.withPanel(buildPanel(panel));
  }
  return builder.build();
}
