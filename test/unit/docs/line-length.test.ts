import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
/** Biome's lineWidth (biome.json). The formatter does not break strings, templates or comments: this test does. */
const MAX = 120;

/** The repository's TypeScript and JavaScript files; fixtures are data, not code. */
function codeFiles(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(
      (f) =>
        /\.[cm]?[tj]s$/.test(f) &&
        f !== 'package-lock.json' &&
        !f.startsWith('test/fixtures/') &&
        existsSync(join(ROOT, f)),
    );
}

describe('line length', () => {
  it(`no line of a .ts or .js file is over ${MAX} characters (split strings and comments the formatter leaves)`, () => {
    const long: string[] = [];
    for (const file of codeFiles()) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        // Characters (code points), as Biome counts them: not UTF-16 units, not bytes.
        const length = [...line].length;
        if (length > MAX) long.push(`${file}:${i + 1} (${length} characters)`);
      });
    }
    expect(long, `lines over ${MAX} characters:\n${long.join('\n')}`).toEqual([]);
  });
});
