import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prometheusRulesFile } from './alerts.ts';
import { buildDashboards, dashboardJson } from './dashboards.ts';

/** The folder of the committed, generated files. */
export const GENERATED_DIR = join(import.meta.dirname, 'generated');

/** File name of the generated rules file (default alert options). */
export const RULES_FILE_NAME = 'slotforge-alerts.rules.yaml';

/** The generated files: name under dashboards/generated/ and content. */
export function generatedFiles(): Array<{ fileName: string; content: string }> {
  return [
    ...buildDashboards().map((d) => ({ fileName: d.fileName, content: dashboardJson(d.model) })),
    { fileName: RULES_FILE_NAME, content: prometheusRulesFile() },
  ];
}

// `npx tsx dashboards/generate.ts` rewrites dashboards/generated/.
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  for (const file of generatedFiles()) {
    writeFileSync(join(GENERATED_DIR, file.fileName), file.content);
    console.log(`wrote dashboards/generated/${file.fileName}`);
  }
}
