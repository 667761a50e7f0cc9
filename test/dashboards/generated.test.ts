import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_DIR, generatedFiles } from '../../dashboards/index.ts';

describe('dashboards/generated', () => {
  it.each(generatedFiles().map((f) => [f.fileName, f] as const))(
    '%s is what the code generates (run `npx tsx dashboards/generate.ts` after a change)',
    (_, file) => {
      expect(readFileSync(join(GENERATED_DIR, file.fileName), 'utf8')).toBe(file.content);
    },
  );
});
