/**
 * Summarise a V8 `.cpuprofile` (from `node --cpu-prof`): the top frames by self time, and by total (inclusive) time.
 *
 *   node --import tsx bench/profile-top.ts <file.cpuprofile|dir> [--top 25] [--filter substring] [--under frame]
 *
 * `--under` counts only samples whose stack holds a frame containing that text (e.g. `timeRun`, `appendEvents`).
 * With a directory, the busiest .cpuprofile in it is read. `--filter` keeps frames whose function or file
 * contains the substring (e.g. `packages/server`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { arg, table } from './lib/util.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Busy (non-idle) time of a profile, in µs. */
function busy(prof: Profile): number {
  const idle = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  let t = 0;
  for (let i = 0; i < prof.samples.length; i++) if (!idle.has(prof.samples[i]!)) t += prof.timeDeltas[i] ?? 0;
  return t;
}

/** A directory holds one profile per thread (tsx's loader runs in a worker): take the busiest. */
function pickFile(p: string): string {
  if (!statSync(p).isDirectory()) return p;
  const files = readdirSync(p)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(p, f))
    .map((f) => ({ f, busy: busy(JSON.parse(readFileSync(f, 'utf8')) as Profile) }))
    .sort((a, b) => b.busy - a.busy);
  if (files.length === 0) throw new Error(`no .cpuprofile in ${p}`);
  return files[0]!.f;
}

function label(cf: CallFrame): string {
  const file = cf.url.replace(/^file:\/\//, '').replace(/^.*?\/(packages|node_modules|bench)\//, '$1/');
  const name = (cf.functionName || '(anonymous)').slice(0, 60); // RegExp frames carry the whole pattern
  // tsx-compiled sources report no useful line (0): name and file are enough there.
  return file ? `${name} ${file}${cf.lineNumber > 0 ? `:${cf.lineNumber + 1}` : ''}` : name;
}

export function summarize(file: string, top = 25, filter?: string, under?: string): string {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  const stackHas = (id: number | undefined, sub: string): boolean => {
    for (; id !== undefined; id = parent.get(id))
      if (label(byId.get(id)!.callFrame).includes(sub)) return true;
    return false;
  };
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    let id: number | undefined = prof.samples[i]!;
    if (under && !stackHas(id, under)) continue; // only samples taken inside the `under` frame
    all += dt;
    const leaf = byId.get(id)!;
    self.set(label(leaf.callFrame), (self.get(label(leaf.callFrame)) ?? 0) + dt);
    const seen = new Set<string>(); // recursion: count a frame once per sample
    while (id !== undefined) {
      const l = label(byId.get(id)!.callFrame);
      if (!seen.has(l)) {
        seen.add(l);
        total.set(l, (total.get(l) ?? 0) + dt);
      }
      id = parent.get(id);
    }
  }
  const keep = (l: string) => !filter || l.includes(filter);
  const rows = (m: Map<string, number>) =>
    [...m]
      .filter(([l]) => keep(l) && l !== '(root)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, t]) => [l, `${((100 * t) / all).toFixed(1)}%`, `${(t / 1000).toFixed(0)} ms`]);
  return [
    `${file}: ${(busy(prof) / 1e6).toFixed(2)} s busy` +
      (under ? `, ${(all / 1e6).toFixed(2)} s under '${under}' (shares are of that)` : ''),
    '',
    'by self time',
    table(['frame', 'share', 'self'], rows(self)),
    '',
    'by total time',
    table(['frame', 'share', 'total'], rows(total)),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv.slice(2).find((a) => !a.startsWith('--'));
  if (!path) {
    console.error(
      'usage: bench/profile-top.ts <file.cpuprofile|dir> [--top N] [--filter substr] [--under frame]',
    );
    process.exit(2);
  }
  const top = arg('top');
  const filter = arg('filter');
  const under = arg('under');
  console.log(
    summarize(
      pickFile(path),
      typeof top === 'string' ? Number(top) : 25,
      typeof filter === 'string' ? filter : undefined,
      typeof under === 'string' ? under : undefined,
    ),
  );
}
