/**
 * Child process for the distributed single-flight test: connects, says "ready", waits for the go key, then makes
 * `calls` concurrent cold getOrSet calls with the distributed lock. The loader counts its runs in Redis (INCR), so
 * the parent sees runs from every process.
 */
import { createClient } from '../../../../client/src/index.ts';

const [port, namespace, callsText] = process.argv.slice(2);
const client = createClient({ port: Number(port), namespace: String(namespace) });
const { commands, keys } = client.context;
await commands.ready();
process.stdout.write('ready\n');
while ((await commands.get(keys.key('go'))) === null) await new Promise((r) => setTimeout(r, 5));
const results = await Promise.all(
  Array.from({ length: Number(callsText) }, () =>
    client.getOrSet(
      'cold',
      async () => {
        await commands.call('INCR', [keys.key('loader-runs')]);
        await new Promise((r) => setTimeout(r, 50));
        return { loadedBy: process.pid };
      },
      { lock: true },
    ),
  ),
);
process.stdout.write(
  `${JSON.stringify({ distinct: [...new Set(results.map((r) => r.loadedBy))], count: results.length })}\n`,
);
await client.close();
