import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultClusterManifests, sentinelExampleManifests } from '../../chaos/targets/index.ts';
import {
  DEFAULT_EXPORTER_IMAGE,
  DEFAULT_REDIS_IMAGE,
  IMAGE_REFERENCES_CHECKED_ON,
  isBitnamiImage,
  VERIFIED_IMAGE_REFERENCES,
  verifiedReference,
} from '../../infra/index.ts';
import { loadManifests, type ManifestSet, resolveImage } from '../../runtime/local/index.ts';
import { harnessTempDir } from '../support/index.ts';

const repo = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every container image (containers, initContainers) of every workload in a set, with where it was found. */
function imagesOf(set: ManifestSet): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const workloads = [...set.statefulSets.values(), ...set.deployments.values(), ...set.jobs.values()];
  for (const workload of workloads) {
    const spec = workload.spec?.template?.spec;
    for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
      const where = `${workload.kind}/${workload.metadata.namespace}/${workload.metadata.name}:${container.name}`;
      found.set(container.image ?? '', [...(found.get(container.image ?? '') ?? []), where]);
    }
  }
  return found;
}

/** The images of dist/ as `npx tsx main.ts` writes it (run in a scratch cwd so the worktree's dist/ is not touched). */
async function distImages(): Promise<Map<string, string[]>> {
  const cwd = mkdtempSync(join(harnessTempDir('image-references'), 'synth-'));
  dirs.push(cwd);
  await promisify(execFile)(join(repo, 'node_modules', '.bin', 'tsx'), [join(repo, 'main.ts')], { cwd });
  return imagesOf(loadManifests(join(cwd, 'dist')));
}

/** Every chart the repo synthesizes besides main.ts: the chaos suite's scaled cluster variants and the Sentinel example. */
async function exampleChartImages(): Promise<Map<string, string[]>> {
  const all = new Map<string, string[]>();
  const sets = [
    await defaultClusterManifests(3),
    await defaultClusterManifests(4),
    await defaultClusterManifests(4, 1),
    await sentinelExampleManifests(),
  ];
  for (const set of sets) {
    for (const [image, where] of imagesOf(set)) all.set(image, [...(all.get(image) ?? []), ...where]);
  }
  return all;
}

/** The images of `found` that are not verified references, with where they occur. */
function unverified(found: Map<string, string[]>): Record<string, string[]> {
  return Object.fromEntries([...found].filter(([image]) => verifiedReference(image) === undefined));
}

describe('image references', () => {
  it('every image of dist/ (main.ts) is a verified reference', async () => {
    const found = await distImages();
    expect(found.size).toBeGreaterThanOrEqual(2);
    expect(unverified(found)).toEqual({});
  });

  it('every image of the example charts (scaled cluster variants, Sentinel example) is a verified reference', async () => {
    const found = await exampleChartImages();
    expect([...found.keys()]).toContain(DEFAULT_REDIS_IMAGE);
    expect(unverified(found)).toEqual({});
  });

  it('the infra defaults are verified, maintained Redis 8 and exporter tags', () => {
    expect(DEFAULT_REDIS_IMAGE).toMatch(/^redis:8\.\d+\.\d+$/);
    expect(verifiedReference(DEFAULT_REDIS_IMAGE)?.lineMaintained).toBe(true);
    expect(verifiedReference(DEFAULT_EXPORTER_IMAGE)?.lineMaintained).toBe(true);
  });

  it('each verified reference names its upstream record, commit and date, is not bitnami and runs locally', () => {
    expect(VERIFIED_IMAGE_REFERENCES.length).toBeGreaterThan(0);
    for (const ref of VERIFIED_IMAGE_REFERENCES) {
      expect(isBitnamiImage(ref.reference), ref.reference).toBe(false);
      expect(ref.reference).toMatch(/:[\w.-]+$/);
      expect(ref.reference).not.toMatch(/:latest$/);
      expect(ref.upstream.source).toMatch(/^https:\/\//);
      expect(ref.upstream.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(ref.upstream.checkedOn).toBe(IMAGE_REFERENCES_CHECKED_ON);
      expect(ref.local.debianPackage).not.toBe('');
      expect(() => resolveImage(ref.reference, 'image-references')).not.toThrow();
    }
  });

  it('recognises bitnami images in every spelling and takes only exact verified tags', () => {
    for (const image of ['bitnami/kubectl:1.27.16', 'docker.io/bitnami/redis:7.0', 'bitnamilegacy/kubectl:1.30']) {
      expect(isBitnamiImage(image), image).toBe(true);
    }
    expect(isBitnamiImage('redis:8.2.9')).toBe(false);
    expect(verifiedReference('docker.io/library/redis:8.2.9')?.reference).toBe('redis:8.2.9');
    expect(verifiedReference('redis:8.0.6')).toBeUndefined();
    expect(verifiedReference('redis:8.2')).toBeUndefined();
    expect(verifiedReference('redis:7.0.15')).toBeUndefined();
  });
});
