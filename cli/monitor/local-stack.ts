import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
// The alerts module, not the dashboards index: the index also loads cdk8s and the Grafana SDK, which the monitor does
// not need (measured: 1.8 s to import the index, 1.0 s the alerts module).
import { type AlertOptions, prometheusRulesFile } from '../../dashboards/index.ts';
import { imageProgram } from '../../runtime/images/index.ts';
import { type ProcessHandle, type ProcessRegistry, pollUntil, startProcess } from '../../runtime/process/index.ts';
import { freeRedisPort } from '../../runtime/redis/index.ts';
import { PrometheusApi } from './prometheus-api.ts';

/** A Redis node to monitor. */
export interface MonitoredNode {
  readonly host: string;
  readonly port: number;
  /** A name for people (`node-0`); becomes the `node` label. @default `host:port` */
  readonly name?: string;
}

/** Options of {@link startLocalMonitor}. */
export interface LocalMonitorOptions {
  /** Dir for the Prometheus config, rules, TSDB and the logs. It must exist or be creatable. */
  readonly dir: string;
  /** Redis nodes to start a redis_exporter for, on 127.0.0.1. @default none */
  readonly nodes?: readonly MonitoredNode[];
  /**
   * Exporters that already run, scraped as they are: the RedisCluster's sidecars at `<pod IP>:9121` on the local
   * runtime. No process is started for them. @default none
   */
  readonly sidecars?: readonly ExporterTarget[];
  /**
   * A Prometheus file_sd file that lists the sidecars instead (the local runtime's `exporters.sd.json`, rewritten when
   * pods move): Prometheus scrapes what the file says now, so recreated pods are followed to their new IPs.
   * `sidecars` still gives the targets expected at start. @default the sidecars as static targets
   */
  readonly sidecarsFile?: string;
  /** Redis password; given to each exporter started for {@link nodes} in its environment (never on its command line). */
  readonly password?: string;
  /** More scrape jobs, e.g. an application's /metrics: `{ job: 'app', targets: ['127.0.0.1:9400'] }`. */
  readonly extraJobs?: ReadonlyArray<{ readonly job: string; readonly targets: readonly string[] }>;
  /** Options of the alert rules Prometheus loads. @default the defaults of AlertOptions */
  readonly alertOptions?: AlertOptions;
  /** Prometheus scrape and rule evaluation interval. @default '5s' */
  readonly interval?: string;
  /** Port of the Prometheus web UI and API on 127.0.0.1. @default a free port */
  readonly prometheusPort?: number;
  /** Records the processes so a reaper can stop them if we die (`slotforge down` reaps the state dir's). */
  readonly registry?: ProcessRegistry;
  /** Leave the processes running when our process exits (`monitor --detach`). @default false */
  readonly keepAlive?: boolean;
  /** How long to wait for Prometheus to answer /-/ready. @default 30000 */
  readonly readyTimeoutMs?: number;
}

/** The scrape job of the redis_exporter targets; matches the alerts' default job regex `.*redis.*`. */
export const REDIS_JOB = 'redis';

/** An exporter Prometheus scrapes: the Redis node it reports on and where its /metrics is. */
export interface ExporterTarget {
  readonly node: MonitoredNode;
  /** host:port of its /metrics. */
  readonly address: string;
}

/** A scraped exporter: one this monitor started (with its process) or a sidecar that runs on its own. */
export interface LocalExporter extends ExporterTarget {
  /** The exporter process this monitor started; absent for a {@link LocalMonitorOptions.sidecars sidecar}. */
  readonly process?: ProcessHandle;
}

/** redis_exporter processes and a Prometheus scraping them, on loopback. */
export interface LocalMonitor {
  readonly prometheusUrl: string;
  readonly api: PrometheusApi;
  readonly exporters: readonly LocalExporter[];
  readonly prometheus: ProcessHandle;
  /** Where the config, rules and logs are. */
  readonly dir: string;
  /** Resolves once every target has been scraped successfully at least once; returns the ms it took from start. */
  waitAllTargetsUp(timeoutMs?: number): Promise<number>;
  /** Stops Prometheus and the exporters. */
  stop(): Promise<void>;
}

/** The Prometheus configuration for the given targets (`rule_files` relative to the config file). */
export function prometheusConfig(options: {
  readonly interval: string;
  readonly exporters: readonly ExporterTarget[];
  /** file_sd files with more redis_exporter targets (re-read when they change, and every 2 s). */
  readonly exporterFiles?: readonly string[];
  readonly extraJobs?: LocalMonitorOptions['extraJobs'];
  readonly ruleFiles?: readonly string[];
}): string {
  return stringify({
    global: { scrape_interval: options.interval, evaluation_interval: options.interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [
      {
        job_name: REDIS_JOB,
        static_configs: options.exporters.map((e) => ({
          targets: [e.address],
          labels: { node: e.node.name ?? `${e.node.host}:${e.node.port}`, redis: `${e.node.host}:${e.node.port}` },
        })),
        ...(options.exporterFiles?.length
          ? { file_sd_configs: [{ files: [...options.exporterFiles], refresh_interval: '2s' }] }
          : {}),
      },
      ...(options.extraJobs ?? []).map((j) => ({ job_name: j.job, static_configs: [{ targets: [...j.targets] }] })),
    ],
  });
}

/**
 * Starts one redis_exporter per node (as the RedisCluster's sidecar does on Kubernetes) and a Prometheus that
 * scrapes them, the given sidecars and the extra jobs, and evaluates the slotforge alerts. Every process is stopped
 * again if a later one fails to start.
 */
export async function startLocalMonitor(options: LocalMonitorOptions): Promise<LocalMonitor> {
  const started = Date.now();
  const interval = options.interval ?? '5s';
  mkdirSync(join(options.dir, 'tsdb'), { recursive: true });
  const processes: ProcessHandle[] = [];
  const exporters: LocalExporter[] = [...(options.sidecars ?? [])];
  const stopAll = async () => {
    await Promise.all([...processes].reverse().map((p) => p.stop(3000)));
  };
  try {
    for (const [i, node] of (options.nodes ?? []).entries()) {
      const address = `127.0.0.1:${await freeRedisPort()}`;
      const process_ = await startProcess({
        command: imageProgram('redis_exporter'),
        args: ['-redis.addr', `redis://${node.host}:${node.port}`, '-web.listen-address', address],
        env: { ...process.env, REDIS_PASSWORD: options.password ?? '' },
        logFile: join(options.dir, `exporter-${i}.log`),
        registry: options.registry,
        marker: address,
        keepAlive: options.keepAlive,
      });
      processes.push(process_);
      exporters.push({ node, address, process: process_ });
    }
    writeFileSync(join(options.dir, 'rules.yaml'), prometheusRulesFile(options.alertOptions));
    writeFileSync(
      join(options.dir, 'prometheus.yml'),
      prometheusConfig({
        interval,
        // Sidecars listed by a file_sd file are scraped from it, not as static targets.
        exporters: options.sidecarsFile ? exporters.filter((e) => e.process) : exporters,
        exporterFiles: options.sidecarsFile ? [options.sidecarsFile] : [],
        extraJobs: options.extraJobs,
        ruleFiles: ['rules.yaml'],
      }),
    );
    const port = options.prometheusPort ?? (await freeRedisPort());
    const listen = `127.0.0.1:${port}`;
    const prometheus = await startProcess({
      command: 'prometheus',
      args: [
        `--config.file=${join(options.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(options.dir, 'tsdb')}`,
        `--web.listen-address=${listen}`,
        '--storage.tsdb.retention.time=1d',
      ],
      cwd: options.dir,
      logFile: join(options.dir, 'prometheus.log'),
      registry: options.registry,
      marker: listen,
      keepAlive: options.keepAlive,
    });
    processes.push(prometheus);
    const prometheusUrl = `http://${listen}`;
    const api = new PrometheusApi(prometheusUrl);
    await pollUntil(
      async () => {
        if (!prometheus.running) throw new Error(`prometheus exited; see ${join(options.dir, 'prometheus.log')}`);
        return api.ready();
      },
      {
        description: `Prometheus on ${listen} to be ready`,
        timeoutMs: options.readyTimeoutMs ?? 30_000,
        intervalMs: 100,
      },
    );
    const expected = exporters.length + (options.extraJobs ?? []).reduce((n, j) => n + j.targets.length, 0);
    return {
      prometheusUrl,
      api,
      exporters,
      prometheus,
      dir: options.dir,
      waitAllTargetsUp: async (timeoutMs = 60_000) => {
        let last: Array<{ url: string; health: string; error: string }> = [];
        try {
          await pollUntil(
            async () => {
              const targets = await api.targets();
              last = targets.map((t) => ({ url: t.scrapeUrl, health: t.health, error: t.lastError }));
              return targets.length === expected && targets.every((t) => t.health === 'up');
            },
            { description: `all ${expected} scrape targets to be up`, timeoutMs, intervalMs: 200 },
          );
        } catch (error) {
          throw new Error(`${(error as Error).message}; targets: ${JSON.stringify(last)}`, { cause: error });
        }
        return Date.now() - started;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
