import { describe, expect, it } from 'vitest';
import { progressLine } from './ml-cli-common.js';

describe('progressLine', () => {
  const io = (tty: boolean) => {
    let err = '';
    return { io: { stdout: () => {}, stderr: (s: string) => (err += s), stderrIsTTY: tty }, err: () => err };
  };
  it('rewrites one stderr line on a terminal and clears it', () => {
    const t = io(true);
    const p = progressLine(t.io);
    p.update('job x: Running');
    p.update('job x: Running');
    p.clear();
    p.clear(); // nothing shown any more: nothing to clear
    // The elapsed seconds are whatever the clock says; the rest is exact.
    expect(t.err().replace(/\(\d+s\)/g, '(Ns)')).toBe(
      '\r⠋ job x: Running (Ns)\x1b[K\r⠙ job x: Running (Ns)\x1b[K\r\x1b[K',
    );
  });
  it('writes nothing when stderr is not a terminal', () => {
    const t = io(false);
    const p = progressLine(t.io);
    p.update('job x: Running');
    p.clear();
    expect(t.err()).toBe('');
  });
});
