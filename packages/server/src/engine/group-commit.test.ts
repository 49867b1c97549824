import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

/** A commit function whose transactions finish when the test says so. */
function controlled() {
  const calls: { rows: number[]; finish: (err?: Error) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const commit = (rows: number[]) =>
    new Promise<void>((resolve, reject) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      calls.push({
        rows,
        finish: (err) => {
          inFlight--;
          if (err) reject(err);
          else resolve();
        },
      });
    });
  return { calls, commit, max: () => maxInFlight };
}
const turn = () => new Promise((r) => setImmediate(r));
/** Up to 2 s (a count of turns was shorter than a 5 ms commit delay on a fast, idle machine). */
const until = async (pred: () => boolean) => {
  for (const end = Date.now() + 2000; !pred() && Date.now() < end;) await turn();
};

describe('GroupCommit', () => {
  it('merges what arrives in one turn, and what arrives during a commit into the next one', async () => {
    const c = controlled();
    const g = new GroupCommit(c.commit);
    const done: number[] = [];
    g.add([1]).then(() => done.push(1));
    g.add([2, 3]).then(() => done.push(2));
    await until(() => c.calls.length === 1);
    expect(c.calls[0]!.rows).toEqual([1, 2, 3]);
    g.add([4]).then(() => done.push(4));
    g.add([5]).then(() => done.push(5));
    await turn();
    expect(c.calls).toHaveLength(1); // one transaction at a time by default
    c.calls[0]!.finish();
    await until(() => c.calls.length === 2);
    expect(done.sort()).toEqual([1, 2]);
    expect(c.calls[1]!.rows).toEqual([4, 5]);
    c.calls[1]!.finish();
    await until(() => done.length === 4);
    expect(c.max()).toBe(1);
  });

  it('starts another transaction while one is in flight when parallel > 1, never more than that', async () => {
    const c = controlled();
    const g = new GroupCommit(c.commit, 50_000, 0, 2);
    const done: number[] = [];
    const add = (n: number) => g.add([n]).then(() => done.push(n));
    void add(1);
    await until(() => c.calls.length === 1);
    void add(2);
    await until(() => c.calls.length === 2);
    void add(3);
    void add(4);
    await turn();
    await turn();
    expect(c.calls).toHaveLength(2); // two in flight: 3 and 4 wait
    c.calls[1]!.finish(); // the second finishes first: its caller is answered at once
    await until(() => done.includes(2));
    expect(done).toEqual([2]);
    await until(() => c.calls.length === 3);
    expect(c.calls[2]!.rows).toEqual([3, 4]);
    c.calls[0]!.finish();
    c.calls[2]!.finish();
    await until(() => done.length === 4);
    expect(c.max()).toBe(2);
  });

  it('rejects exactly the callers of a failed transaction', async () => {
    const c = controlled();
    const g = new GroupCommit(c.commit, 50_000, 5);
    const a = g.add([1]);
    const b = g.add([2]);
    await until(() => c.calls.length === 1);
    const later = g.add([3]);
    c.calls[0]!.finish(new Error('disk full'));
    await expect(a).rejects.toThrow('disk full');
    await expect(b).rejects.toThrow('disk full');
    await until(() => c.calls.length === 2);
    c.calls[1]!.finish();
    await expect(later).resolves.toBeUndefined();
  });
});
