import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ALERT_NAMES, alertDefinitions, prometheusRulesFile, RULES_FILE_NAME } from '../../dashboards/index.ts';
import { harnessTempDir } from '../support/harness-root.ts';

const run = promisify(execFile);
const RULE_TESTS = join(import.meta.dirname, 'rules', 'alerts.test.yaml');
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs `promtool test rules` on our unit tests against the given rules file; resolves to the exit code and output. */
async function promtoolTest(rules: string): Promise<{ code: number; output: string }> {
  const dir = harnessTempDir('promtool');
  dirs.push(dir);
  writeFileSync(join(dir, RULES_FILE_NAME), rules);
  copyFileSync(RULE_TESTS, join(dir, 'alerts.test.yaml'));
  try {
    const { stdout, stderr } = await run('promtool', ['test', 'rules', 'alerts.test.yaml'], { cwd: dir });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('alert rules', () => {
  it('pass promtool check rules', async () => {
    const dir = harnessTempDir('promtool');
    dirs.push(dir);
    const file = join(dir, RULES_FILE_NAME);
    writeFileSync(file, prometheusRulesFile());
    const { stdout } = await run('promtool', ['check', 'rules', file]);
    expect(stdout).toContain(`SUCCESS: ${ALERT_NAMES.length} rules found`);
  });

  it('pass the promtool unit tests, which cover every alert', async () => {
    const tests = readFileSync(RULE_TESTS, 'utf8');
    for (const name of ALERT_NAMES) expect(tests, `no promtool test fires ${name}`).toContain(`alertname: ${name}`);
    const result = await promtoolTest(prometheusRulesFile());
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('fail the promtool unit tests when a threshold changes', async () => {
    const broken = prometheusRulesFile({ memoryRatio: 0.97 });
    const result = await promtoolTest(broken);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('RedisMemoryNearMax');
  });

  it('take a `for` override and validate options, naming the option', () => {
    expect(alertDefinitions({ for: '0s' }).every((a) => a.for === '0s')).toBe(true);
    expect(() => alertDefinitions({ for: 'soon' })).toThrow(/for must be a Prometheus duration.*'soon'/);
    expect(() => alertDefinitions({ memoryRatio: 1.5 })).toThrow(/memoryRatio must be in \(0, 1\] \(got 1.5\)/);
  });

  it('link each alert to a runbook section of docs/monitoring.md', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'monitoring.md'), 'utf8');
    const anchors = new Set(
      [...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        (m[1] ?? '')
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const alert of alertDefinitions()) {
      const anchor = alert.runbookUrl.split('#')[1] ?? '';
      expect(anchors.has(anchor), `${alert.alert}: no heading for #${anchor}`).toBe(true);
    }
  });
});
