import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERT_NAMES, DASHBOARD_SPECS, GENERATED_DIR, generatedFiles } from '../../dashboards/index.ts';

describe('dashboards/generated', () => {
  it.each(generatedFiles().map((f) => [f.fileName, f] as const))(
    '%s is what the code generates (run `npx tsx dashboards/generate.ts` after a change)',
    (_, file) => {
      expect(readFileSync(join(GENERATED_DIR, file.fileName), 'utf8')).toBe(file.content);
    },
  );
});

describe('docs/monitoring.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'monitoring.md'), 'utf8');

  it('describes every panel of every dashboard and every alert', () => {
    for (const spec of Object.values(DASHBOARD_SPECS)) {
      for (const row of spec.rows)
        for (const panel of row.panels) expect(doc, panel.title).toContain(`| ${panel.title} |`);
    }
    for (const name of ALERT_NAMES) expect(doc).toContain(`### ${name}`);
  });
});
