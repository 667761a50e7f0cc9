/**
 * Runs `@slotforge/client` against a RedisSentinel of the test, as a client pod would: connected through the
 * sentinels by their pod DNS names, as the `app` user. Started by the test inside the pods' mount namespace (so the
 * names resolve through the test's hosts file). Writes a counter every 20 ms for DURATION_MS after the first success,
 * prints `ready` after that first write and a JSON summary at the end: writes ok/failed and the longest time between
 * two successful writes (the outage the application saw), and whether every acknowledged value reads back.
 */
import { createClient } from '../../../../client/src/index.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const client = createClient({
  sentinel: {
    sentinels: JSON.parse(env('SENTINELS')) as Array<{ host: string; port: number }>,
    masterName: env('MASTER_NAME'),
    password: env('SENTINEL_PASSWORD'),
  },
  username: 'app',
  password: env('APP_PASSWORD'),
  namespace: 'driver',
});
const durationMs = Number(env('DURATION_MS'));
let ok = 0;
let failed = 0;
let lastOk = 0;
let maxGapMs = 0;
const errors = new Set<string>();
const acked: number[] = [];
let started = 0;
for (let i = 0; started === 0 || Date.now() - started < durationMs; i++) {
  try {
    await client.set(`n${i}`, i);
    const now = Date.now();
    if (started === 0) {
      started = now;
      console.log('ready');
    } else {
      maxGapMs = Math.max(maxGapMs, now - lastOk);
    }
    lastOk = now;
    ok++;
    acked.push(i);
  } catch (error) {
    failed++;
    errors.add(String((error as Error).message).slice(0, 120));
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
let lost = 0;
for (const i of acked) if ((await client.get(`n${i}`)) !== i) lost++;
await client.close();
console.log(JSON.stringify({ ok, failed, maxGapMs, lost, errors: [...errors] }));
