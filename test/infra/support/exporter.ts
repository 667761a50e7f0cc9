import { join } from 'node:path';
import { imageProgram } from '../../../runtime/images/index.ts';
import { pollUntil } from '../../../runtime/process/index.ts';
import { startProcess } from '../../../runtime/process/managed-process.ts';
import { harnessRegistry } from '../../support/harness-root.ts';

/**
 * Runs the exporter image's redis_exporter (through its host wrapper) with `env` (optionally inside a mount namespace whose /etc/hosts is
 * `hostsFile`, so pod DNS names resolve as in the pod), waits for its first scrape of `metricsUrl`, hands the text to
 * `check`, and stops it.
 */
export async function withExporterScrape(
  options: { env: NodeJS.ProcessEnv; logDir: string; metricsUrl: string; hostsFile?: string },
  check: (metrics: string) => Promise<void> | void,
): Promise<void> {
  const exporter = imageProgram('redis_exporter');
  const proc = await startProcess({
    command: options.hostsFile ? 'unshare' : exporter,
    args: options.hostsFile
      ? ['--mount', 'sh', '-c', `mount --bind '${options.hostsFile}' /etc/hosts && exec '${exporter}'`]
      : [],
    env: options.env,
    logFile: join(options.logDir, 'exporter.log'),
    registry: harnessRegistry(),
    marker: 'redis_exporter',
  });
  try {
    const text = await pollUntil(
      async () => {
        const body = await (await fetch(options.metricsUrl)).text();
        return body.includes('redis_up') ? body : undefined;
      },
      { description: 'exporter metrics', timeoutMs: 15_000, intervalMs: 200 },
    );
    await check(text);
  } finally {
    await proc.stop();
  }
}
