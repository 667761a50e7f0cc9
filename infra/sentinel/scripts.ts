import { readFileSync } from 'node:fs';
import { readScript } from '../scripts.ts';

/** Scripts of infra/sentinel/scripts/ that the RedisSentinel ConfigMap carries, next to the shared lib.sh. */
export const SENTINEL_SCRIPTS = [
  'sentinel-lib.sh',
  'redis-entrypoint.sh',
  'redis-probe.sh',
  'redis-prestop.sh',
  'sentinel-entrypoint.sh',
  'sentinel-probe.sh',
] as const;
export type SentinelScriptName = (typeof SENTINEL_SCRIPTS)[number];

/** Text of a script in infra/sentinel/scripts/. */
export function readSentinelScript(name: SentinelScriptName): string {
  return readFileSync(new URL(`./scripts/${name}`, import.meta.url), 'utf8');
}

/**
 * Every script file of the ConfigMap: the shared lib.sh (rcli, secret, resolve, pod_fqdn, render_users,
 * data_survived...) and probe.sh (its liveness check serves data pods as it serves cluster members), and ours.
 */
export function sentinelScriptFiles(): Record<string, string> {
  const files: Record<string, string> = { 'lib.sh': readScript('lib.sh'), 'probe.sh': readScript('probe.sh') };
  for (const name of SENTINEL_SCRIPTS) files[name] = readSentinelScript(name);
  return files;
}
