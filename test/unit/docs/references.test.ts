import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
const TOP = ['lambdas', 'lib', 'local', 'bench', 'test', 'docs', 'policies', 'bin', '.ci'];
// A repository path as code and docs cite it: one of the top folders, then path characters, ending in a file or folder
// name.
const PATH = new RegExp(
  `(?<![\\w./-])(?:\\./)?((?:${TOP.map((t) => t.replace('.', '\\.')).join('|')})/[\\w./-]*[\\w])`,
  'g',
);

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(
      (f) =>
        /\.(ts|md|json|cedar|html)$/.test(f) &&
        f !== 'package-lock.json' &&
        !f.startsWith('test/fixtures/') &&
        existsSync(join(ROOT, f)),
    );
}

describe('references in code and docs', () => {
  it('every repository path a file names exists (the repository is self-contained)', () => {
    const missing: string[] = [];
    for (const file of trackedFiles()) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(PATH)) {
        const ref = m[1]!.replace(/\.$/, '');
        // Placeholders and globs name a family of files, not one.
        if (/[<>*{}]|\.\.\./.test(ref)) continue;
        // Relative to the repository root, or to the citing file (markdown links).
        if (!existsSync(join(ROOT, ref)) && !existsSync(join(ROOT, dirname(file), ref)))
          missing.push(`${file}: ${ref}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('cites no design document outside the repository', () => {
    const outside = trackedFiles().filter(
      (f) => !f.startsWith('test/unit/docs/') && /DESIGN\.md|\/tmp\/ev\//.test(readFileSync(join(ROOT, f), 'utf8')),
    );
    expect(outside).toEqual([]);
  });
});
