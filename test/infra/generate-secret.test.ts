import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { harnessTempDir } from '../support/harness-root.ts';
import { synthCluster } from './support/synth.ts';

const run = promisify(execFile);
const root = harnessTempDir('infra-secret');
afterAll(() => rmSync(root, { recursive: true, force: true }));

// kubectl is the one tool here we cannot run for real (no API server): a stub records the calls and keeps the
// created Secret's files, so the test checks what the script hands to kubectl.
const KUBECTL_STUB = `#!/bin/sh
echo "$*" >> "$STUB_STATE/calls"
case "$1 $2" in
"get secret") [ -e "$STUB_STATE/created" ] ;;
"create secret")
  shift 4
  for arg in "$@"; do
    spec=\${arg#--from-file=}
    cp "\${spec#*=}" "$STUB_STATE/key-\${spec%%=*}"
  done
  : > "$STUB_STATE/created"
  ;;
esac
`;

describe('auth Secret generator Job', () => {
  it('creates one random password per key once, and leaves an existing Secret alone', async () => {
    const objects = synthCluster();
    const job = objects.find((o) => o.kind === 'Job' && String(o.metadata.name).endsWith('-auth-generator'));
    const script = objects.find((o) => o.kind === 'ConfigMap' && o.data?.['generate-secret.sh'])?.data[
      'generate-secret.sh'
    ];
    const container = job?.spec.template.spec.containers[0];
    const env: Record<string, string> = {};
    for (const e of container.env) env[e.name] = e.value;
    const bin = join(root, 'bin');
    const state = join(root, 'state');
    const work = join(root, 'work');
    for (const d of [bin, state, work]) mkdirSync(d, { recursive: true });
    writeFileSync(join(bin, 'kubectl'), KUBECTL_STUB);
    chmodSync(join(bin, 'kubectl'), 0o755);
    writeFileSync(join(root, 'generate-secret.sh'), script);
    const runEnv = { ...env, SLOTFORGE_WORK_DIR: work, STUB_STATE: state, PATH: `${bin}:${process.env.PATH}` };

    const first = await run('sh', [join(root, 'generate-secret.sh')], { env: runEnv });
    expect(first.stdout).toContain(`secret ${env.SLOTFORGE_SECRET} created`);
    const keys = String(env.SLOTFORGE_SECRET_KEYS).split(' ');
    expect(keys.sort()).toEqual(['admin', 'app', 'exporter', 'probe', 'replication']);
    const values = keys.map((k) => readFileSync(join(state, `key-${k}`), 'utf8'));
    for (const value of values) expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(values).size).toBe(keys.length);
    expect(readdirSync(work)).toEqual([]);

    const second = await run('sh', [join(root, 'generate-secret.sh')], { env: runEnv });
    expect(second.stdout).toContain('exists; leaving it as it is');
    const calls = readFileSync(join(state, 'calls'), 'utf8').trim().split('\n');
    expect(calls.filter((c) => c.startsWith('create'))).toHaveLength(1);
    expect(existsSync(join(state, 'created'))).toBe(true);
  });
});
