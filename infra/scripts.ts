import { readFileSync } from 'node:fs';

/** Scripts that the member ConfigMap carries (the secret generator has its own). */
export const MEMBER_SCRIPTS = [
  'lib.sh',
  'entrypoint.sh',
  'maintain.sh',
  'failover-assist.sh',
  'assist-witnesses.sh',
  'master-probe.sh',
  'open-slots.sh',
  'probe.sh',
  'prestop.sh',
  'bootstrap.sh',
  'scale.sh',
] as const;
export type ScriptName = (typeof MEMBER_SCRIPTS)[number] | 'generate-secret.sh';

/** Where the scripts ConfigMap is mounted in every container. */
export const SCRIPTS_MOUNT_PATH = '/opt/slotforge';

/** Text of a script in infra/scripts/. */
export function readScript(name: ScriptName): string {
  return readFileSync(new URL(`./scripts/${name}`, import.meta.url), 'utf8');
}
