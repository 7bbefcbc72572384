import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ArchiveNameError,
  evidenceFiles,
  renderReport,
  tarGz,
  ustar,
  type ArchiveFile,
} from '../../../../lambdas/core/report/index.js';
import { seedInput } from './fixtures.js';

const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'report-bundle-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Extract with the system tar, as an operator would. */
function extract(archive: Buffer, gz = true): { dir: string; names: string[]; verbose: string } {
  const dir = scratch();
  const file = join(dir, gz ? 'bundle.tar.gz' : 'bundle.tar');
  writeFileSync(file, archive);
  const out = join(dir, 'out');
  execFileSync('mkdir', [out]);
  const flags = gz ? 'z' : '';
  const names = execFileSync('tar', [`-t${flags}f`, file], { encoding: 'utf8' })
    .trim()
    .split('\n');
  const verbose = execFileSync('tar', [`--full-time`, `-tv${flags}f`, file], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  execFileSync('tar', [`-x${flags}f`, file, '-C', out]);
  return { dir: out, names, verbose };
}

describe('evidence.tar.gz', () => {
  it(
    'holds the report in three forms plus the window data, change records and action ledger; tar extracts it ' +
      'intact',
    () => {
      const input = seedInput();
      const files = evidenceFiles(input);
      expect(files.map((f) => f.name)).toEqual([
        'report.json',
        'report.md',
        'report.html',
        'window-data.json',
        'changes.json',
        'ledger.json',
      ]);
      const { dir, names, verbose } = extract(tarGz(files, input.generatedAt));
      expect(names).toEqual(files.map((f) => f.name));
      for (const f of files) expect(readFileSync(join(dir, f.name), 'utf8')).toBe(f.content);
      // Stamped with the report's generation time, not the clock: the same input gives the same archive.
      expect(verbose).toContain('2026-11-22 10:50:30 report.json');
      const windowData = JSON.parse(readFileSync(join(dir, 'window-data.json'), 'utf8'));
      expect(windowData.points).toHaveLength(input.series.length);
      expect(JSON.parse(readFileSync(join(dir, 'ledger.json'), 'utf8')).entries).toHaveLength(6);
      expect(
        JSON.parse(readFileSync(join(dir, 'changes.json'), 'utf8')).records.map((c: { id: string }) => c.id),
      ).toEqual(['rel-381', 'rel-390']);
    },
  );

  it('the archive object is the same bytes as packing the evidence files', () => {
    const input = seedInput();
    const bundle = renderReport(input).objects.find((o) => o.key.endsWith('evidence.tar.gz'))!;
    expect(Buffer.compare(bundle.body as Buffer, tarGz(evidenceFiles(input), input.generatedAt))).toBe(0);
  });

  it('ustar edge cases: long paths, UTF-8 names, binary and empty files, exact block sizes', () => {
    const long = `${'deep/'.repeat(30)}evidence-with-a-rather-long-file-name-that-needs-the-prefix-field.json`;
    const binary = new Uint8Array(Array.from({ length: 1000 }, (_, i) => (i * 37) % 256));
    const files: ArchiveFile[] = [
      { name: long, content: '{"ok":true}' },
      { name: '검색-비용.md', content: '비용 −19%\n' },
      { name: 'data.bin', content: binary },
      { name: 'empty.txt', content: '' },
      { name: 'block.txt', content: 'x'.repeat(512) },
    ];
    const tar = ustar(files, Date.UTC(2026, 10, 22));
    expect(tar.length % 10240).toBe(0);
    const { dir, names } = extract(tar, false);
    expect(names).toEqual(files.map((f) => f.name));
    expect(readFileSync(join(dir, long), 'utf8')).toBe('{"ok":true}');
    expect(readFileSync(join(dir, '검색-비용.md'), 'utf8')).toBe('비용 −19%\n');
    expect(Buffer.compare(readFileSync(join(dir, 'data.bin')), Buffer.from(binary))).toBe(0);
    expect(readFileSync(join(dir, 'empty.txt'), 'utf8')).toBe('');
    expect(readFileSync(join(dir, 'block.txt'), 'utf8')).toHaveLength(512);
  });

  it('refuses names that would escape the extraction directory or cannot be stored', () => {
    for (const name of ['../etc/passwd', '/abs', 'a/../../b', '', 'x'.repeat(101)])
      expect(() => ustar([{ name, content: '' }], 0)).toThrow(ArchiveNameError);
  });
});
