import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { harnessTempDir, useStandalone } from '../support/index.ts';

const run = promisify(execFile);
const redis = useStandalone({ password: 'package-test' });

/**
 * Applications import @slotforge/client on its own: built JavaScript, no TypeScript loader, and nothing but the
 * package's declared dependencies next to it (an undeclared import would fail to resolve here).
 */
it('builds to plain JavaScript that an application imports with only the declared dependencies', async () => {
  const dir = harnessTempDir('client-package');
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'node_modules'), { recursive: true });
  copyFileSync('client/package.json', join(pkg, 'package.json'));
  await run(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'client/tsconfig.build.json', '--outDir', join(pkg, 'dist')],
    {
      timeout: 120_000,
    },
  );
  const manifest = JSON.parse(readFileSync('client/package.json', 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies))
    symlinkSync(resolve('node_modules', dep), join(pkg, 'node_modules', dep));

  const app = join(dir, 'app');
  mkdirSync(join(app, 'node_modules', '@slotforge'), { recursive: true });
  symlinkSync(pkg, join(app, 'node_modules', '@slotforge', 'client'));
  writeFileSync(join(app, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    join(app, 'app.mjs'),
    `import { createClient } from '@slotforge/client';
const client = createClient({ host: '127.0.0.1', port: Number(process.argv[2]), password: 'package-test', namespace: 'pkg' });
const when = new Date('2026-11-25T20:00:00Z');
await client.set('order', { when, total: 12n, tags: new Set(['a']) }, { ttlMs: 60_000 });
const back = await client.get('order');
const loaded = await client.getOrSet('empty', async () => '');
console.log(JSON.stringify({ isDate: back.when instanceof Date, iso: back.when.toISOString(), total: String(back.total), isSet: back.tags instanceof Set, loaded }));
await client.close();
`,
  );
  const { stdout } = await run(process.execPath, ['app.mjs', String(redis().port)], { cwd: app, timeout: 30_000 });
  expect(JSON.parse(stdout)).toEqual({
    isDate: true,
    iso: '2026-11-25T20:00:00.000Z',
    total: '12',
    isSet: true,
    loaded: '',
  });
}, 180_000);
