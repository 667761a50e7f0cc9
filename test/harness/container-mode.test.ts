import { describe, expect, it } from 'vitest';
import { assertContainerEngine, fixtureMode } from '../support/index.ts';

describe('REDIS_FIXTURE=container', () => {
  it('fails fast with a message that says what to do when no Docker engine answers', async () => {
    const saved = process.env.DOCKER_HOST;
    // An engine address that cannot answer, whatever this machine has.
    process.env.DOCKER_HOST = 'unix:///nonexistent/slotforge-docker.sock';
    const started = Date.now();
    try {
      const error = await assertContainerEngine(5000).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/^REDIS_FIXTURE=container needs a reachable Docker engine and none answered/);
      expect(error?.message).toContain('unset REDIS_FIXTURE');
      expect(Date.now() - started).toBeLessThan(6000);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it('rejects an unknown fixture mode naming the variable and the value', () => {
    const saved = process.env.REDIS_FIXTURE;
    process.env.REDIS_FIXTURE = 'kubernetes';
    try {
      expect(() => fixtureMode()).toThrow("REDIS_FIXTURE must be 'process' or 'container' (got 'kubernetes')");
    } finally {
      if (saved === undefined) delete process.env.REDIS_FIXTURE;
      else process.env.REDIS_FIXTURE = saved;
    }
  });
});
