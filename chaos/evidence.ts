import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { jsonReport } from './report/html.ts';
import type { ScenarioResult } from './runner.ts';

/**
 * The directory a failed scenario's evidence goes to: `<root>/<scenario>-<start time>` (colons dropped, so the name is
 * valid on every filesystem a user copies it to).
 */
export function evidenceDir(root: string, scenario: string, at: Date = new Date()): string {
  const stamp = at
    .toISOString()
    .replaceAll(':', '')
    .replace(/\.\d+Z$/, 'Z');
  return join(root, `${scenario}-${stamp}`);
}

/**
 * Writes what a failed scenario's verdicts were read from into `dir`: `result.json` (the JSON report's entry, the
 * markers included) and `history.jsonl` (every marker, then every operation, one JSON object per line, in recorder
 * time). The deployment's own logs are added by the target factory (`TargetFactory.keep`). Returns the files.
 */
export function writeEvidence(dir: string, result: ScenarioResult): string[] {
  mkdirSync(dir, { recursive: true });
  const resultFile = join(dir, 'result.json');
  writeFileSync(resultFile, `${JSON.stringify(jsonReport([result])[0], null, 2)}\n`);
  const historyFile = join(dir, 'history.jsonl');
  // Line by line: a matrix scenario's history holds 100 000s of operations, too many for one string.
  const fd = openSync(historyFile, 'w');
  try {
    for (const e of result.history.events) writeSync(fd, `${JSON.stringify({ type: 'event', ...e })}\n`);
    for (const op of result.history.operations) writeSync(fd, `${JSON.stringify({ type: 'op', ...op })}\n`);
  } finally {
    closeSync(fd);
  }
  return [resultFile, historyFile];
}
