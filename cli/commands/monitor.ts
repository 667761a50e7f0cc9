import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { control, type EndpointsReply, needsNamespace, statePaths } from '../../runtime/local/index.ts';
import { isAlive, ProcessRegistry } from '../../runtime/process/index.ts';
import { type ExporterTarget, type LocalMonitor, type MonitoredNode, startLocalMonitor } from '../monitor/index.ts';
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
  /** Every scraped exporter; `sidecar` when it is the pod's own (from the manifests), not one `monitor` started. */
  readonly exporters: ReadonlyArray<{ node: string; redis: string; metrics: string; sidecar: boolean }>;
  readonly dashboards: readonly string[];
  readonly firstScrapeMs: number;
  readonly pids: readonly number[];
  readonly dir: string;
}

/** What `monitor` scrapes: exporter sidecars that run in the pods, or nodes to start an exporter for. */
export interface MonitorTargets {
  /** The redis_exporter sidecars of the Redis pods (their container port named `metrics`), at the pod IPs. */
  readonly sidecars: ExporterTarget[];
  /** Redis nodes without a sidecar: `monitor` starts an exporter on the host for each. */
  readonly nodes: MonitoredNode[];
  readonly password: string | undefined;
  /** The runtime's file_sd file of the sidecars, when it has written one (Prometheus follows moved pods with it). */
  readonly sidecarsFile: string | undefined;
}

/**
 * The exporters and nodes of the running local deployment, as its supervisor answers the control socket's `endpoints`
 * request: the one channel through which `monitor` learns them.
 *
 * The Redis pods' own redis_exporter sidecars (as the manifests define them, reached at the pod IPs over the bridge)
 * are scraped as Prometheus scrapes them on Kubernetes; a host-side exporter is started only for a node whose pod has
 * no `metrics` port (manifests synthesized with `metrics.exporter: false`).
 */
export async function monitorTargets(stateDir: string): Promise<MonitorTargets> {
  const paths = statePaths(stateDir);
  const reply = existsSync(paths.socket)
    ? await control<EndpointsReply>(paths.socket, { verb: 'endpoints' }, 30_000).catch(() => undefined)
    : undefined;
  if (!reply || reply.redis.length === 0) {
    throw new Error(`nothing is up in ${paths.root}: run 'slotforge up --detach' first`);
  }
  const sidecars: ExporterTarget[] = [];
  const nodes: MonitoredNode[] = [];
  for (const e of reply.redis) {
    const node = { host: e.host, port: e.port, name: e.name };
    if (e.metrics) sidecars.push({ node, address: e.metrics });
    else nodes.push(node);
  }
  const password = reply.redis.find((e) => e.password)?.password;
  return { sidecars, nodes, password, sidecarsFile: reply.exportersSdFile ?? undefined };
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
 * Starts a Prometheus that scrapes the exporter sidecars of the local deployment (and a host-side redis_exporter per
 * node without one) and evaluates the slotforge alerts; resolves once every target has been scraped.
 */
export async function monitor(options: MonitorOptions): Promise<{ stack: LocalMonitor; report: MonitorReport }> {
  if (needsNamespace()) {
    throw new Error(
      "slotforge monitor needs root: its Prometheus runs on the host and scrapes the pod IPs, which a non-root runtime keeps inside its own network namespace (see 'slotforge status', non-root mode)",
    );
  }
  const running = runningMonitor(options.stateDir);
  if (running) throw new Error(`a monitor is already running at ${running.prometheusUrl} ('slotforge down' stops it)`);
  const { sidecars, nodes, password, sidecarsFile } = await monitorTargets(options.stateDir);
  const dir = monitorDir(options.stateDir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const stack = await startLocalMonitor({
    dir,
    sidecars,
    // The runtime's discovery file of the sidecars: Prometheus follows pods recreated with new IPs.
    ...(sidecarsFile ? { sidecarsFile } : {}),
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
      sidecar: e.process === undefined,
    })),
    dashboards: dashboardFiles(),
    firstScrapeMs,
    pids: [...stack.exporters.flatMap((e) => (e.process ? [e.process.pid] : [])), stack.prometheus.pid],
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
    ...report.exporters.map(
      (e) => `  ${e.node.padEnd(16)} ${e.redis.padEnd(16)} ${e.metrics}${e.sidecar ? '' : '   (started on the host)'}`,
    ),
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
