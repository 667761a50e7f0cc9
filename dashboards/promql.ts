/**
 * A small PromQL reader: the metric names an expression selects. Enough for the expressions in this folder and
 * the tests that check them; not a full parser (it does not handle `{__name__="..."}` selectors, which we never use).
 */

/**
 * Words that look like identifiers but are operators, modifiers or aggregations (an aggregation may stand apart
 * from its parenthesis: `sum by (job) (x)`).
 */
const KEYWORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** Clauses whose parenthesised list holds label names, not metric names. */
const LABEL_LIST = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi;

/**
 * The metric names selected by a PromQL expression, in order of first appearance.
 * Grafana variables (`$job`, `$__rate_interval`) may appear inside matchers and range brackets.
 *
 * @example metricNamesIn('sum by (job) (rate(redis_commands_processed_total{job=~"$job"}[5m]))')
 *   // ['redis_commands_processed_total']
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery brackets
    .replace(/#[^\n]*/g, ' ') // comments
    .replace(LABEL_LIST, (match) => match.replace(/\([^)]*\)/, ' ')) // label lists of by/on/...
    .replace(/\boffset\s+-?[0-9a-z]+/gi, ' '); // offset durations
  const names: string[] = [];
  // Numbers first so that `1e3` or `0x1f` is never read as an identifier.
  const token = /(0x[0-9a-f]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\d+)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/gi;
  for (const match of stripped.matchAll(token)) {
    const [, number, ident, call] = match;
    if (number || !ident || call) continue; // a number, or a function call
    if (KEYWORDS.has(ident.toLowerCase())) continue;
    if (!names.includes(ident)) names.push(ident);
  }
  return names;
}

/**
 * Replaces the Grafana variables our dashboards use with values Prometheus accepts, so a test (or a person with
 * promtool) can run a panel's query against Prometheus directly.
 */
export function expandGrafanaVariables(expr: string, values: { rateInterval?: string; job?: string } = {}): string {
  return expr.replaceAll('$__rate_interval', values.rateInterval ?? '1m').replaceAll('$job', values.job ?? '.+');
}
