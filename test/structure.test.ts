import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The repository's shape (issue 17), checked on every file git tracks: no source file over 400 lines, and no import
 * into another folder's internals. A folder is used through its `index.ts`; a file may import its own folder's files,
 * its own subfolders' files and its ancestors' files (a subfolder is part of its parent), and the root modules
 * (`main.ts`, `charts.ts`: the cdk8s app). Documents are exempt: `docs/examples/` are standalone files that tests
 * import as documents.
 */
const MAX_LINES = 400;
/** The root modules any file may import: the cdk8s app and its charts. */
const ROOT_MODULES = ['main.ts', 'charts.ts'];
const CHECKED = /\.(ts|mts|js|mjs|sh)$/;
const EXEMPT = [/^dist\//, /^client\/dist\//, /\/generated\//, /\.d\.ts$/, /(^|\/)node_modules\//];

/** Relative specifiers of every static import/export-from and dynamic import() in a TypeScript text. */
function relativeImports(text: string): string[] {
  const specs: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const match of text.matchAll(pattern)) specs.push(match[1] as string);
  return specs;
}

/** Why `spec` imported by `file` reaches into another folder's internals, or undefined when it does not. */
function deepImport(file: string, spec: string): string | undefined {
  const from = dirname(file);
  const target = normalize(join(from, spec));
  const folder = dirname(target);
  if (folder === from) return undefined;
  if (folder === '.' && ROOT_MODULES.includes(target)) return undefined;
  if (from.startsWith(`${folder}/`) || folder.startsWith(`${from}/`)) return undefined;
  if (basename(target) === 'index.ts' || target.startsWith('docs/examples/')) return undefined;
  return `${file} imports ${spec}: a file inside ${folder}/ (use ${folder}/index.ts)`;
}

/** Files over the line limit, as "path: N lines". */
function overLimit(files: ReadonlyArray<{ path: string; text: string }>, max = MAX_LINES): string[] {
  return files
    .filter((f) => CHECKED.test(f.path) && !EXEMPT.some((re) => re.test(f.path)))
    .map((f) => ({ path: f.path, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
    .filter((f) => f.lines > max)
    .map((f) => `${f.path}: ${f.lines} lines`);
}

function trackedFiles(): Array<{ path: string; text: string }> {
  const root = join(import.meta.dirname, '..');
  const paths = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((p) => CHECKED.test(p) && !EXEMPT.some((re) => re.test(p)));
  return paths.flatMap((path) => {
    try {
      return [{ path, text: readFileSync(join(root, path), 'utf8') }];
    } catch {
      return []; // deleted in the working tree
    }
  });
}

describe('repository structure', () => {
  const files = trackedFiles();

  it('finds the files it checks (git ls-files from the repository root)', () => {
    expect(files.length).toBeGreaterThan(300);
    expect(files.some((f) => f.path === 'runtime/local/runtime.ts')).toBe(true);
  });

  it(`has no source, test or pod script over ${MAX_LINES} lines`, () => {
    expect(overLimit(files)).toEqual([]);
  });

  it("imports no other folder's internals: folders are used through their index.ts", () => {
    const deep = files
      .filter((f) => /\.(ts|mts)$/.test(f.path))
      .flatMap((f) => relativeImports(f.text).flatMap((spec) => deepImport(f.path, spec) ?? []));
    expect(deep).toEqual([]);
  });

  it('the checks catch what they are for', () => {
    // Built from parts, so this file's own scan does not read them as imports.
    const sample = ['import { a } from ', "'../core/errors.ts';\nconst m = await import(", "'./x/y.ts');"].join('');
    expect(relativeImports(sample)).toEqual(['../core/errors.ts', './x/y.ts']);
    expect(deepImport('client/src/cache/store.ts', '../core/errors.ts')).toMatch(/client\/src\/core\/index\.ts/);
    expect(deepImport('client/src/cache/store.ts', '../core/index.ts')).toBeUndefined();
    expect(deepImport('client/src/core/ioredis/routing.ts', '../errors.ts')).toBeUndefined();
    expect(deepImport('chaos/scenarios.ts', './faults/kill.ts')).toBeUndefined();
    expect(deepImport('test/infra/x.test.ts', '../../charts.ts')).toBeUndefined();
    expect(deepImport('test/infra/x.test.ts', '../../vitest.config.ts')).toMatch(/vitest\.config\.ts/);
    expect(overLimit([{ path: 'a/b.ts', text: 'x\n'.repeat(401) }])).toEqual(['a/b.ts: 401 lines']);
    expect(overLimit([{ path: 'dist/b.ts', text: 'x\n'.repeat(401) }])).toEqual([]);
  });
});
