import { existsSync } from 'node:fs';
import ora from 'ora';
import { type CleanupReport, cleanupLocal, statePaths } from '../../runtime/local/index.ts';
import { reapRegistry } from '../../runtime/process/index.ts';

/**
 * Stops the local runtime of the state dir (its supervisor stops every pod gracefully) and removes everything it
 * created: processes, namespaces, links, nft rules, the /etc/hosts block, mount points, and the state dir (PVC data
 * included). Also cleans after a runtime that died.
 */
export async function down(stateDir: string, options: { quiet?: boolean } = {}): Promise<CleanupReport> {
  const spinner = ora({ text: 'stopping the local runtime', isSilent: options.quiet ?? false }).start();
  // Host processes other commands recorded in the state dir (`slotforge monitor`'s exporters and Prometheus).
  const registry = statePaths(stateDir).registry;
  if (existsSync(registry)) reapRegistry(registry);
  const report = await cleanupLocal(stateDir);
  spinner.succeed(describe(report));
  return report;
}

export function describe(report: CleanupReport): string {
  const parts = [
    report.supervisor === 'none' ? 'no supervisor was running' : `supervisor ${report.supervisor}`,
    report.namespaces.length > 0 ? `removed leftover namespaces ${report.namespaces.join(', ')}` : '',
    report.links.length > 0 ? `removed leftover links ${report.links.join(', ')}` : '',
    report.hostsBlock ? 'removed a leftover /etc/hosts block' : '',
    `removed ${report.stateDir}`,
  ];
  return parts.filter(Boolean).join('; ');
}
