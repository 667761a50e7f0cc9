import { describe, expect, it } from 'vitest';
import { builtImage, RECIPES } from '../../../runtime/images/index.ts';
import { containerArgv, containerIdentity, IMAGE_TABLE, resolveImage } from '../../../runtime/local/index.ts';

const redis = RECIPES.redis.config;

describe("a container's user: the image's USER under the manifest's securityContext", () => {
  const rootfs = builtImage('redis').rootfs;

  it("takes the image's user when the manifest says nothing", () => {
    expect(containerIdentity(redis, rootfs, undefined, undefined, 'c')).toEqual({
      uid: 0,
      gid: 0,
      groups: [],
      readOnlyRoot: false,
    });
  });

  it("a runAsUser without runAsGroup takes that user's group from the image's /etc/passwd", () => {
    expect(containerIdentity(redis, rootfs, { runAsUser: 999 }, undefined, 'c')).toMatchObject({ uid: 999, gid: 999 });
    // Not in the image's passwd: group 0, as the container runtime does.
    expect(containerIdentity(redis, rootfs, { runAsUser: 4242 }, undefined, 'c')).toMatchObject({ gid: 0 });
  });

  it('the container level wins over the pod level; fsGroup and supplementalGroups are supplementary groups', () => {
    expect(
      containerIdentity(
        redis,
        rootfs,
        { runAsUser: 1, runAsGroup: 2, fsGroup: 3, supplementalGroups: [4, 5] },
        { runAsUser: 6, readOnlyRootFilesystem: true },
        'c',
      ),
    ).toEqual({ uid: 6, gid: 2, groups: [3, 4, 5], readOnlyRoot: true });
  });

  it('refuses runAsNonRoot for a container that would run as root, with the kubelet wording', () => {
    expect(() =>
      containerIdentity(redis, rootfs, { runAsNonRoot: true }, undefined, "pod x/y container 'redis'"),
    ).toThrow("pod x/y container 'redis': container has runAsNonRoot and image will run as root");
    expect(() =>
      containerIdentity(redis, rootfs, { runAsNonRoot: true, runAsUser: 999 }, undefined, 'c'),
    ).not.toThrow();
  });
});

describe("a container's argv: ENTRYPOINT and CMD as the container runtime composes them", () => {
  const mapping = resolveImage('redis:8.0.2', 'c');

  it('maps the official references to their recipes and refuses what the table does not have', () => {
    expect(resolveImage('docker.io/library/redis:8.0.4', 'c').recipe).toBe('redis');
    expect(resolveImage('oliver006/redis_exporter:v1.80.0', 'c').recipe).toBe('redis-exporter');
    expect(resolveImage('registry.k8s.io/kubectl:v1.33.0', 'c').builtin?.entrypoint).toEqual(['kubectl']);
    expect(() => resolveImage('redis:7.2.5', 'c')).toThrow("image 'redis:7.2.5' has no entry in the image table");
    expect(IMAGE_TABLE.every((m) => Boolean(m.recipe) !== Boolean(m.builtin))).toBe(true);
  });

  it('no command: ENTRYPOINT + CMD; args replace CMD; command replaces both', () => {
    expect(containerArgv(mapping, redis, undefined, undefined)).toEqual(['docker-entrypoint.sh', 'redis-server']);
    expect(containerArgv(mapping, redis, undefined, ['--port', '7000'])).toEqual([
      'docker-entrypoint.sh',
      '--port',
      '7000',
    ]);
    expect(containerArgv(mapping, redis, ['sh', '-c'], ['exec redis-server'])).toEqual([
      'sh',
      '-c',
      'exec redis-server',
    ]);
  });
});
