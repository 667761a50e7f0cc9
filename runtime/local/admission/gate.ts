import type { ApplyChange } from '../apply.ts';
import { AdmissionError } from '../errors.ts';
import type { ManifestSet } from '../manifests.ts';
import { loadSchemas } from './fields.ts';
import { admit, parseAssumeCrds, type Refusal, withoutRefused } from './index.ts';

/** The assumed CRD groups of options, else of $SLOTFORGE_ASSUME_CRDS. */
export function assumedCrds(options: { readonly assumeCrds?: readonly string[] }): readonly string[] {
  return options.assumeCrds ?? parseAssumeCrds(process.env.SLOTFORGE_ASSUME_CRDS);
}

/** Refuses, before anything starts, a set of which an API server would refuse any object (`up`). */
export async function admitOrThrow(manifests: ManifestSet, assumeCrds: readonly string[]): Promise<void> {
  await loadSchemas();
  const refusals = admit(manifests, undefined, { assumeCrds });
  if (refusals.length === 0) return;
  throw new AdmissionError(
    `the API server would refuse ${refusals.length} object(s):\n${refusals.map((r) => r.message).join('\n')}`,
    refusals,
  );
}

/** Admission of an apply against the live set: the refusals, and the set without them (refused updates keep the live object). */
export async function admitApply(
  live: ManifestSet,
  next: ManifestSet,
  assumeCrds: readonly string[],
): Promise<{ refusals: Refusal[]; admitted: ManifestSet }> {
  await loadSchemas();
  const refusals = admit(next, live, { assumeCrds });
  return { refusals, admitted: withoutRefused(next, refusals, live) };
}

/**
 * The error of an apply with refusals: our summary per object, then kubectl's message per object; `applied` lists
 * what was still applied (kubectl prints no line for a refused object, only its error).
 */
export function applyRefused(refusals: readonly Refusal[], changes: readonly ApplyChange[]): AdmissionError {
  const refused = new Set(refusals.map((r) => r.object));
  const summary = refusals
    .map((r) => `${r.object.split('/')[0]} ${r.object.split('/').slice(1).join('/')}: ${r.summary}`)
    .join('; ');
  return new AdmissionError(
    `apply: ${summary}\n${refusals.map((r) => r.message).join('\n')}`,
    refusals,
    changes.filter((c) => !refused.has(c.object)),
  );
}
