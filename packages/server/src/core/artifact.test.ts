import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildManifest, expectedSha256, manifestText, parseFilePath, pathClash } from './artifact.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('parseFilePath', () => {
  it('decodes each segment on its own', () => {
    expect(parseFilePath('a/b%20c.txt')).toBe('a/b c.txt');
    expect(parseFilePath('%C3%BC.bin')).toBe('ü.bin');
  });
  it.each(['', '../x', 'a/../b', '%2e%2e/x', 'a%2Fb', '/abs', 'a//b', 'a/', '.', 'a%5Cb', 'a%00b', '%zz'])(
    'refuses %j',
    (p) => expect(() => parseFilePath(p)).toThrow(/path/),
  );
});

describe('expectedSha256', () => {
  const hex = sha('x');
  const b64 = Buffer.from(hex, 'hex').toString('base64');
  it('reads x-ms-content-sha256 (base64 or hex) and Content-Digest', () => {
    expect(expectedSha256({ 'x-ms-content-sha256': b64 })).toEqual({ hex, header: 'x-ms-content-sha256' });
    expect(expectedSha256({ 'x-ms-content-sha256': hex.toUpperCase() })?.hex).toBe(hex);
    expect(expectedSha256({ 'content-digest': `md5=:abc=:, sha-256=:${b64}:` })).toEqual({
      hex,
      header: 'content-digest',
    });
    expect(expectedSha256({})).toBeUndefined();
    expect(() => expectedSha256({ 'x-ms-content-sha256': 'nope' })).toThrow(/x-ms-content-sha256/);
    expect(() => expectedSha256({ 'content-digest': 'md5=:abc=:' })).toThrow(/content-digest/);
  });
});

describe('manifest', () => {
  it('hashes sha256sum lines in UTF-8 byte order of the paths', () => {
    const files = [
      { path: 'b', size: 1, sha256: sha('b') },
      { path: 'Z', size: 1, sha256: sha('Z') },
      { path: 'a/c', size: 2, sha256: sha('c') },
    ];
    const text = `${sha('Z')}  Z\n${sha('c')}  a/c\n${sha('b')}  b\n`;
    expect(manifestText(files)).toBe(text);
    const m = buildManifest(files, 't');
    expect(m.sha256).toBe(sha(text));
    expect(m.uri).toBe(`mlgrid://artifacts/${sha(text)}`);
    expect(m.size).toBe(4);
    expect(() => buildManifest([], 't')).toThrow(/no files/);
  });
  it('finds a file that would be a folder of another', () => {
    expect(pathClash(['a/b', 'c'], 'a')).toBe('a/b');
    expect(pathClash(['a'], 'a/b')).toBe('a');
    expect(pathClash(['ab'], 'a')).toBeUndefined();
  });
});
