import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type ApplyResult, control, manifestFiles, parseAssumeCrds, statePaths } from '../../runtime/local/index.ts';

/** Options of `slotforge apply`. */
export interface ApplyCommandOptions {
  readonly stateDir: string;
  /** A multi-document YAML file or a dir of them. @default 'dist' */
  readonly manifests: string;
  /** Delete what the manifests no longer list (kubectl apply --prune). @default false */
  readonly prune: boolean;
  readonly json: boolean;
  /** API groups whose CRDs stand installed for this apply (`--assume-crds`). @default none */
  readonly assumeCrds?: readonly string[];
}

/**
 * `kubectl apply -f DIR` on the detached runtime of the state dir: the supervisor reads the manifests and applies
 * them; prints one line per object in kubectl's words (`created`, `configured`, `unchanged`, `pruned`) and the
 * objects it kept because `--prune` was not given.
 */
export async function apply(options: ApplyCommandOptions): Promise<ApplyResult> {
  // Checked here too, so a typo names the path before anything is sent.
  manifestFiles(options.manifests);
  const result = await control<ApplyResult>(statePaths(options.stateDir).socket, {
    verb: 'apply',
    manifests: resolve(options.manifests),
    prune: options.prune,
    assumeCrds: options.assumeCrds,
  });
  // As kubectl apply: the admitted objects were applied; each refused one is an error and the exit code is 1.
  if (result.refused?.length) process.exitCode = 1;
  if (options.json) {
    console.log(JSON.stringify(result, null, 2));
    return result;
  }
  for (const refused of result.refused ?? []) console.error(refused.message);
  for (const change of result.changes.filter((c) => c.action !== 'kept')) {
    console.log(`${change.object} ${change.action}${change.detail ? ` (${change.detail})` : ''}`);
  }
  const kept = result.changes.filter((c) => c.action === 'kept');
  if (kept.length > 0) {
    console.log(`kept (not in the manifests; --prune deletes them): ${kept.map((c) => c.object).join(', ')}`);
  }
  return result;
}

export function registerApply(program: Command, stateDir: () => string): void {
  program
    .command('apply')
    .description(
      'apply changed manifests to the running deployment (kubectl apply -f): new objects start, replicas scale, templates roll, new Jobs run',
    )
    .option('--manifests <path>', 'a multi-document YAML file or a dir of them', 'dist')
    .option(
      '--prune',
      'delete the objects the manifests no longer list, with their pods (kubectl apply --prune)',
      false,
    )
    .option('--json', 'print the changes as JSON', false)
    .option(
      '--assume-crds <groups>',
      'comma-separated API groups whose CRDs count as installed (an operator installs them), e.g. monitoring.coreos.com',
    )
    .action(async (flags: { manifests: string; prune: boolean; json: boolean; assumeCrds?: string }) => {
      await apply({ stateDir: stateDir(), ...flags, assumeCrds: parseAssumeCrds(flags.assumeCrds) });
    });
}
