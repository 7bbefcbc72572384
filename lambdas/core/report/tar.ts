import { gzipSync } from 'node:zlib';

/**
 * A minimal POSIX ustar writer: regular files only, bytes in, bytes out. No tar package is
 * installed, and the bundle needs nothing more. gzip is a computation, not I/O.
 */

export interface ArchiveFile {
  name: string;
  content: string | Uint8Array;
}

const BLOCK = 512;
/** tar pads archives to whole records of 20 blocks; readers accept less, but this is what they write. */
const RECORD = 20 * BLOCK;

export class ArchiveNameError extends Error {}

/**
 * A ustar archive of `files` in the given order. `mtime` (epoch ms) stamps every entry, so the same
 * files always give the same bytes.
 */
export function ustar(files: readonly ArchiveFile[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  const seconds = Math.max(0, Math.floor(mtime / 1000));
  for (const f of files) {
    const data =
      typeof f.content === 'string'
        ? Buffer.from(f.content, 'utf8')
        : Buffer.from(f.content.buffer, f.content.byteOffset, f.content.byteLength);
    parts.push(header(f.name, data.length, seconds));
    parts.push(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  // End of archive: two zero blocks, then up to the record size.
  const body = parts.reduce((n, p) => n + p.length, 0) + 2 * BLOCK;
  parts.push(Buffer.alloc(2 * BLOCK + ((RECORD - (body % RECORD)) % RECORD)));
  return Buffer.concat(parts);
}

/** `evidence.tar.gz`: the same files and mtime always give the same bytes. */
export function tarGz(files: readonly ArchiveFile[], mtime: number): Buffer {
  return gzipSync(ustar(files, mtime), { level: 9 });
}

function header(name: string, size: number, mtimeSeconds: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, base } = splitName(name);
  h.write(base, 0, 100, 'utf8');
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtimeSeconds);
  h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  octal(h, 329, 8, 0);
  octal(h, 337, 8, 0);
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** Zero-padded octal, NUL-terminated, filling the field. */
function octal(h: Buffer, offset: number, length: number, v: number): void {
  const digits = v.toString(8);
  if (digits.length > length - 1) throw new RangeError(`${v} does not fit a ${length}-byte tar field`);
  h.write(`${digits.padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

/** ustar names: up to 100 bytes, or a prefix of up to 155 bytes split at a `/`. */
function splitName(name: string): { prefix: string; base: string } {
  if (!name || name.startsWith('/') || name.split('/').includes('..'))
    throw new ArchiveNameError(`unsafe archive name: ${JSON.stringify(name)}`);
  if (Buffer.byteLength(name) <= 100) return { prefix: '', base: name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100 && base) return { prefix, base };
  }
  throw new ArchiveNameError(`archive name too long for ustar: ${name}`);
}
