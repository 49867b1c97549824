/**
 * One invocation of a local function, pure part: the environment its process gets, and how its end (exit code,
 * signal, timeout, output) becomes a delivery outcome and a delivery-log excerpt. The process itself is run by
 * handlers/function-process.ts.
 */

/** `exit 65` (sysexits' EX_DATAERR): the events are bad, retrying cannot help. Dead-lettered at once, as a 400. */
export const EXIT_DATA_ERROR = 65;

/** The delivery log keeps this much of an attempt's answer. */
export const EXCERPT_CHARS = 512;

/** Env values stay far below Linux's 128 KiB per string; the ids are in the body as well. */
const MAX_IDS_CHARS = 32 * 1024;

export interface InvocationInfo {
  functionId: string;
  subscriptionName: string;
  subscriptionId: string;
  /** The delivery's stored event bodies, in order (Event Grid envelopes or CloudEvents). */
  bodies: readonly string[];
  eventIds: readonly string[];
  /** The request headers the dispatcher built (aeg-*, content-type, delivery attribute mappings…). */
  headers: Readonly<Record<string, string>>;
}

/** The type of each stored event: `eventType` (Event Grid, custom) or `type` (CloudEvents). */
export function eventTypeOf(body: string): string {
  try {
    const e = JSON.parse(body) as { eventType?: unknown; type?: unknown };
    const t = e.eventType ?? e.type;
    return typeof t === 'string' ? t : '';
  } catch {
    return '';
  }
}

/** `aeg-delivery-count` → `AEG_DELIVERY_COUNT`; any other character than a letter or digit becomes `_`. */
export function envName(header: string): string {
  return header.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** The first ids that fit in `max` characters joined by commas. */
function joinIds(ids: readonly string[], max: number): string {
  let out = '';
  for (const id of ids) {
    const next = out === '' ? id : `${out},${id}`;
    if (next.length > max) break;
    out = next;
  }
  return out;
}

/**
 * The variables mlgrid adds for the process, over `base` (the server's environment without its secrets) and
 * the function's own `env` (which cannot use the MLGRID_ and AEG_ prefixes, so these always win).
 */
export function invocationEnv(
  base: Readonly<Record<string, string | undefined>>,
  fnEnv: Readonly<Record<string, string>>,
  info: InvocationInfo,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  Object.assign(env, fnEnv);
  const types = info.bodies.map(eventTypeOf);
  const distinct = [...new Set(types.filter((t) => t !== ''))];
  const ours: Record<string, string> = {
    MLGRID_FUNCTION_ID: info.functionId,
    MLGRID_SUBSCRIPTION_NAME: info.subscriptionName,
    MLGRID_EVENT_SUBSCRIPTION_ID: info.subscriptionId,
    MLGRID_EVENT_TYPE: types[0] ?? '',
    MLGRID_EVENT_TYPES: distinct.join(','),
    MLGRID_EVENT_COUNT: String(info.bodies.length),
    MLGRID_EVENT_IDS: joinIds(info.eventIds, MAX_IDS_CHARS),
    MLGRID_DELIVERY_COUNT: info.headers['aeg-delivery-count'] ?? '0',
    MLGRID_CONTENT_TYPE: info.headers['content-type'] ?? 'application/json',
    MLGRID_DELIVERY_HEADERS: JSON.stringify(info.headers),
  };
  for (const [name, value] of Object.entries(info.headers)) {
    if (name === 'content-type') continue;
    if (name.startsWith('aeg-')) ours[envName(name)] = value;
    else ours[`MLGRID_HEADER_${envName(name)}`] = value;
  }
  return Object.assign(env, ours);
}

/** How the process ended. */
export interface ProcessEnd {
  exitCode: number | null;
  signal: string | null;
  /** Killed by mlgrid at its timeout. */
  timedOut: boolean;
  timeoutMs: number;
  /** The process never started (program or directory missing, not executable). */
  startError?: string;
  /** The last part of what it wrote. */
  stdout: string;
  stderr: string;
}

export type InvocationOutcome =
  | { kind: 'success'; excerpt?: string }
  | { kind: 'timeout'; excerpt: string }
  | { kind: 'failure'; retryable: boolean; excerpt: string };

/** Exit 0 succeeds; 65 dead-letters at once; a timeout, a signal or another exit code is retried. */
export function invocationOutcome(end: ProcessEnd): InvocationOutcome {
  if (end.startError !== undefined) {
    return { kind: 'failure', retryable: true, excerpt: clip(`could not start: ${end.startError}`) };
  }
  const output = end.stderr.trim() !== '' ? end.stderr : end.stdout;
  if (end.timedOut) {
    const s = end.timeoutMs / 1000;
    return { kind: 'timeout', excerpt: withTail(`timed out after ${s} s (process group killed)`, output) };
  }
  if (end.exitCode === 0) {
    const shown = end.stdout.trim() !== '' ? end.stdout : end.stderr;
    const excerpt = tail(shown, EXCERPT_CHARS);
    return excerpt === '' ? { kind: 'success' } : { kind: 'success', excerpt };
  }
  if (end.exitCode === EXIT_DATA_ERROR) {
    return {
      kind: 'failure',
      retryable: false,
      excerpt: withTail(`exit ${EXIT_DATA_ERROR} (data error: not retried)`, output),
    };
  }
  const head = end.exitCode !== null ? `exit ${end.exitCode}` : `killed by ${end.signal ?? 'a signal'}`;
  return { kind: 'failure', retryable: true, excerpt: withTail(head, output) };
}

function withTail(head: string, output: string): string {
  const room = EXCERPT_CHARS - head.length - 2;
  const t = tail(output, room);
  return t === '' ? head : `${head}: ${t}`;
}

function clip(s: string): string {
  return s.length <= EXCERPT_CHARS ? s : `${s.slice(0, EXCERPT_CHARS - 1)}…`;
}

/**
 * The end of `text` in at most `max` characters, starting at a line when it has to be cut (the last lines of a
 * traceback say what went wrong); `…` marks the cut.
 */
export function tail(text: string, max: number): string {
  const t = text.trimEnd();
  if (t.length <= max) return t.trimStart();
  const cut = t.slice(t.length - (max - 1));
  const nl = cut.indexOf('\n');
  const fromLine = nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut;
  return `…${fromLine}`;
}
