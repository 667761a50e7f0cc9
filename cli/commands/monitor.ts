import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
// Not the dashboards index: that loads the Grafana SDK (a dev dependency), which monitor does not need.
import { type LocalMonitor, type MonitoredNode, startLocalMonitor } from '../../dashboards/local-stack.ts';
import { isAlive, ProcessRegistry } from '../../runtime/process/index.ts';
import { readState, statePaths } from '../state.ts';
import { untilSignal } from './up.ts';

/** Options of {@link monitor}. */
export interface MonitorOptions {
  readonly stateDir: string;
  /** Return at once and leave Prometheus and the exporters running (`slotforge down` stops them). @default false */
  readonly detach?: boolean;
  /** Port of Prometheus on 127.0.0.1. @default a free port */
  readonly port?: number;
  /** Scrape and evaluation interval. @default '5s' */
  readonly interval?: string;
}

/** What `monitor` prints (`--json`) and records in `<state dir>/monitor/monitor.json`. */
export interface MonitorReport {
  readonly prometheusUrl: string;
  readonly targetsUrl: string;
  readonly alertsUrl: string;
  readonly exporters: ReadonlyArray<{ node: string; redis: string; metrics: string }>;
  readonly dashboards: readonly string[];
  readonly firstScrapeMs: number;
  readonly pids: readonly number[];
  readonly dir: string;
}

/**
 * The nodes and password of the running local deployment. This is the ONLY place `monitor` reads the state the
 * local runtime records: when its format changes, only this function changes.
 */
export function monitorTargets(stateDir: string): { nodes: MonitoredNode[]; password: string | undefined } {
  const state = readState(stateDir);
  if (!state || state.nodes.length === 0) {
    throw new Error(`nothing is up in ${statePaths(stateDir).root}: run 'slotforge up --detach' first`);
  }
  const password = state.passwordFile ? readFileSync(state.passwordFile, 'utf8').trim() : undefined;
  return { nodes: state.nodes.map((n) => ({ host: n.host, port: n.port, name: n.name })), password };
}

/** The committed dashboard JSON files (dashboards/generated/*.json). */
function dashboardFiles(): string[] {
  const dir = join(import.meta.dirname, '..', '..', 'dashboards', 'generated');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

/** `<state dir>/monitor`: config, TSDB, logs and monitor.json. Removed with the state dir by `slotforge down`. */
function monitorDir(stateDir: string): string {
  return join(statePaths(stateDir).root, 'monitor');
}

/** The report of a monitor started earlier (`--detach`) that still runs, if any. */
export function runningMonitor(stateDir: string): MonitorReport | undefined {
  const file = join(monitorDir(stateDir), 'monitor.json');
  if (!existsSync(file)) return undefined;
  const report = JSON.parse(readFileSync(file, 'utf8')) as MonitorReport;
  return report.pids.some((pid) => isAlive(pid)) ? report : undefined;
}

/**
 * Starts a redis_exporter per node of the local deployment and a Prometheus that scrapes them and evaluates the
 * slotforge alerts; resolves once every target has been scraped.
 */
export async function monitor(options: MonitorOptions): Promise<{ stack: LocalMonitor; report: MonitorReport }> {
  const running = runningMonitor(options.stateDir);
  if (running) throw new Error(`a monitor is already running at ${running.prometheusUrl} ('slotforge down' stops it)`);
  const { nodes, password } = monitorTargets(options.stateDir);
  const dir = monitorDir(options.stateDir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const stack = await startLocalMonitor({
    dir,
    nodes,
    password,
    interval: options.interval ?? '5s',
    prometheusPort: options.port,
    registry: new ProcessRegistry(statePaths(options.stateDir).registry),
    keepAlive: options.detach ?? false,
  });
  let firstScrapeMs: number;
  try {
    firstScrapeMs = await stack.waitAllTargetsUp(60_000);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  const report: MonitorReport = {
    prometheusUrl: stack.prometheusUrl,
    targetsUrl: `${stack.prometheusUrl}/targets`,
    alertsUrl: `${stack.prometheusUrl}/alerts`,
    exporters: stack.exporters.map((e) => ({
      node: e.node.name ?? `${e.node.host}:${e.node.port}`,
      redis: `${e.node.host}:${e.node.port}`,
      metrics: `http://${e.address}/metrics`,
    })),
    dashboards: dashboardFiles(),
    firstScrapeMs,
    pids: [...stack.exporters.map((e) => e.process.pid), stack.prometheus.pid],
    dir,
  };
  writeFileSync(join(dir, 'monitor.json'), `${JSON.stringify(report, null, 2)}\n`);
  return { stack, report };
}

/** Prints where to look, for people. */
export function printMonitor(report: MonitorReport): void {
  const graph = (expr: string) => `${report.prometheusUrl}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=0`;
  const lines = [
    `Prometheus   ${report.prometheusUrl}   (all targets scraped after ${(report.firstScrapeMs / 1000).toFixed(1)} s)`,
    `  targets    ${report.targetsUrl}`,
    `  alerts     ${report.alertsUrl}`,
    `  state      ${graph('min(redis_cluster_state)')}`,
    `  ops/s      ${graph('rate(redis_commands_processed_total[1m])')}`,
    'exporters',
    ...report.exporters.map((e) => `  ${e.node.padEnd(10)} ${e.redis.padEnd(16)} ${e.metrics}`),
    'dashboards   import into Grafana with this Prometheus as data source (docs/monitoring.md):',
    ...report.dashboards.map((d) => `  ${relative(process.cwd(), d)}`),
    `files        ${report.dir}`,
  ];
  console.log(lines.join('\n'));
}

/** `slotforge monitor`: start, print, and stay up until Ctrl-C unless detached. */
export async function runMonitor(options: MonitorOptions & { json?: boolean }): Promise<void> {
  const { stack, report } = await monitor(options);
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else printMonitor(report);
  if (options.detach) {
    if (!options.json) console.log("detached: 'slotforge down' stops it with the deployment");
    return;
  }
  if (!options.json) console.log('monitoring until Ctrl-C');
  await untilSignal();
  await stack.stop();
  rmSync(report.dir, { recursive: true, force: true });
}
