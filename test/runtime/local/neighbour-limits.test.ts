import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { NEIGHBOUR_LIMITS, raiseNeighbourLimits } from '../../../runtime/local/index.ts';
import { harnessTempDir } from '../../support/index.ts';

// The runtime raises the machine's ARP-table limits before its first pod (runtime/local/network.ts): with the kernel's
// default gc_thresh3 of 1024, shared by every namespace, a 60-member cluster never formed ("neighbor table overflow").
// Here against a copy of the sysctl directory, so the test neither needs nor changes the machine's settings.
const dir = harnessTempDir('neigh');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sysctls(values: Record<string, number>): string {
  const at = join(dir, String(Math.random()).slice(2));
  mkdirSync(at, { recursive: true });
  for (const [name, value] of Object.entries(values)) writeFileSync(join(at, name), `${value}\n`);
  return at;
}

it('raises the kernel defaults (128 / 512 / 1024) to what 253 pods need, and says what it changed', () => {
  const at = sysctls({ gc_thresh1: 128, gc_thresh2: 512, gc_thresh3: 1024 });
  expect(raiseNeighbourLimits(at)).toEqual([
    'raised net.ipv4.neigh.default.gc_thresh1 128 -> 16384',
    'raised net.ipv4.neigh.default.gc_thresh2 512 -> 32768',
    'raised net.ipv4.neigh.default.gc_thresh3 1024 -> 65536',
  ]);
  for (const [name, wanted] of Object.entries(NEIGHBOUR_LIMITS))
    expect(Number(readFileSync(join(at, name), 'utf8'))).toBe(wanted);
  expect(NEIGHBOUR_LIMITS.gc_thresh3).toBeGreaterThanOrEqual(253 * 254);
});

it('never lowers a limit an administrator set higher', () => {
  const at = sysctls({ gc_thresh1: 80_000, gc_thresh2: 90_000, gc_thresh3: 100_000 });
  expect(raiseNeighbourLimits(at)).toEqual([]);
  expect(Number(readFileSync(join(at, 'gc_thresh3'), 'utf8'))).toBe(100_000);
});

it('says when it cannot see the limits (no root: the runtime in namespaces of its own) and how to raise them', () => {
  const said = raiseNeighbourLimits(join(dir, 'absent'));
  expect(said).toHaveLength(3);
  expect(said[2]).toMatch(/could not read net\.ipv4\.neigh\.default\.gc_thresh3: ENOENT/);
  expect(said[2]).toMatch(/sudo sysctl -w net\.ipv4\.neigh\.default\.gc_thresh3=65536/);
});
