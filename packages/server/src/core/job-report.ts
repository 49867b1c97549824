/**
 * Jobs run elsewhere (a laptop, a cluster) and metrics, pure: which jobs the local runner leaves alone, the
 * status moves a report may make (the runner's own state machine, walked step by step), report and metric
 * bodies, the metric series, and the scoped token a local job's process reports with.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalid, MlgridError } from './errors.js';
import { canTransition, isTerminal, JOB_STATUSES, type JobSpec, type JobStatus } from './job.js';
import { isObject, object, optString, parseIsoUtc } from './validate.js';

/** `properties.properties["mlgrid.runner"]`: `local` (default) or `external`. A plain string property, so the
 *  Azure SDK sends it unchanged and it reaches Run events as a run property. */
export const RUNNER_PROPERTY = 'mlgrid.runner';
/** The runner id external jobs hold from creation on: no runner process ever has it (theirs are host/pid/…). */
export const EXTERNAL_RUNNER = 'external';

export type RunnerKind = 'local' | 'external';

export function runnerKind(spec: Pick<JobSpec, 'properties'>): RunnerKind {
  const v = spec.properties[RUNNER_PROPERTY];
  if (v === undefined) return 'local';
  const kind = v.trim().toLowerCase();
  if (kind === 'local' || kind === 'external') return kind;
  throw invalid(`properties.properties.${RUNNER_PROPERTY}`, 'must be local or external');
}

export function isExternal(spec: unknown): boolean {
  if (!isObject(spec) || !isObject(spec.properties)) return false;
  return runnerKind({ properties: spec.properties as Record<string, string> }) === 'external';
}

export const METRIC_LIMITS = {
  /** Entries in one POST. */
  perRequest: 1000,
  /** Distinct metric names per job. */
  namesPerJob: 100,
  /** Points kept per series. */
  pointsPerSeries: 5000,
  nameChars: 255,
};

export interface StatusReport {
  status: JobStatus;
  exitCode?: number;
  failureReason?: string;
}

/** `{status, exitCode?, failureReason?}`; the time of a change is the server's (one clock for history and events). */
export function parseStatusReport(body: unknown): StatusReport {
  const b = object(body, 'body');
  if (b.status === undefined || b.status === null) throw invalid('status', 'is required');
  const raw = typeof b.status === 'string' ? b.status.trim().toLowerCase() : '';
  const status = JOB_STATUSES.find((s) => s.toLowerCase() === raw);
  if (!status || status === 'NotStarted') {
    throw invalid('status', `must be one of ${JOB_STATUSES.filter((s) => s !== 'NotStarted').join(', ')}`);
  }
  const out: StatusReport = { status };
  if (b.exitCode !== undefined && b.exitCode !== null) {
    if (!Number.isInteger(b.exitCode) || Math.abs(b.exitCode as number) > 2 ** 31) {
      throw invalid('exitCode', 'must be an integer');
    }
    if (!isTerminal(status)) throw invalid('exitCode', 'is only reported with Completed, Failed or Canceled');
    out.exitCode = b.exitCode as number;
  }
  const reason = optString(b.failureReason, 'failureReason', { max: 4096 });
  if (reason !== undefined && reason !== '') {
    if (status !== 'Failed') throw invalid('failureReason', 'is only reported with Failed');
    out.failureReason = reason;
  }
  return out;
}

/**
 * The status changes that take a job from `from` to `to`: the shortest walk through the runner's state machine,
 * so a reporter may skip ahead (Running → Completed passes Finalizing, as the runner does) and every step raises
 * what it raises for a local job. `[]`: already there. Undefined: impossible (backwards, or out of a final status).
 */
export function reportPath(from: string, to: JobStatus): JobStatus[] | undefined {
  if (from === to) return [];
  const prev = new Map<string, string>([[from, '']]);
  const queue = [from];
  while (queue.length > 0) {
    const cur = queue.shift()!;
    for (const next of JOB_STATUSES) {
      if (prev.has(next) || !canTransition(cur, next)) continue;
      prev.set(next, cur);
      if (next === to) {
        const path: JobStatus[] = [];
        for (let s: string = to; s !== from; s = prev.get(s)!) path.unshift(s as JobStatus);
        return path;
      }
      queue.push(next);
    }
  }
  return undefined;
}

export function illegalReport(from: string, to: string): MlgridError {
  return new MlgridError('Conflict', `The job is ${from}; it cannot change to ${to}.`, 'status');
}

export interface MetricIn {
  name: string;
  value: number;
  step?: number;
  /** Epoch ms. */
  time?: number;
}

/** `{metrics: [{name, value, step?, time?}]}`, each field checked and named on failure. */
export function parseMetrics(body: unknown): MetricIn[] {
  const b = object(body, 'body');
  if (!Array.isArray(b.metrics))
    throw invalid('metrics', 'is required: an array of {name, value, step?, time?}');
  if (b.metrics.length === 0) throw invalid('metrics', 'must not be empty');
  if (b.metrics.length > METRIC_LIMITS.perRequest) {
    throw invalid('metrics', `at most ${METRIC_LIMITS.perRequest} per request`);
  }
  return b.metrics.map((raw, i) => {
    const p = `metrics[${i}]`;
    const m = object(raw, p);
    const name = typeof m.name === 'string' ? m.name.trim() : '';
    // eslint-disable-next-line no-control-regex
    if (name === '' || name.length > METRIC_LIMITS.nameChars || /[\u0000-\u001f]/.test(name)) {
      throw invalid(`${p}.name`, `must be 1-${METRIC_LIMITS.nameChars} printable characters`);
    }
    if (typeof m.value !== 'number' || !Number.isFinite(m.value)) {
      throw invalid(`${p}.value`, 'must be a finite number');
    }
    const out: MetricIn = { name, value: m.value };
    if (m.step !== undefined && m.step !== null) {
      if (!Number.isSafeInteger(m.step) || (m.step as number) < 0) {
        throw invalid(`${p}.step`, 'must be an integer from 0');
      }
      out.step = m.step as number;
    }
    if (m.time !== undefined && m.time !== null) {
      const t = typeof m.time === 'string' ? parseIsoUtc(m.time) : NaN;
      if (Number.isNaN(t)) throw invalid(`${p}.time`, 'must be an ISO-8601 date-time');
      out.time = t;
    }
    return out;
  });
}

/** A stored series: points as `[step, value, epoch ms]`, in the order they were logged. */
export interface MetricSeries {
  name: string;
  points: [number, number, number][];
}

/**
 * `incoming` appended to `series` (undefined: a new one). A point without a step takes the next one after the
 * series' last (0 for the first), as a training loop counts. Undefined when the series would exceed its bound.
 */
export function appendPoints(
  series: MetricSeries | undefined,
  name: string,
  incoming: readonly MetricIn[],
  now: number,
): MetricSeries | undefined {
  const points = series ? [...series.points] : [];
  if (points.length + incoming.length > METRIC_LIMITS.pointsPerSeries) return undefined;
  for (const m of incoming) {
    const last = points.at(-1);
    points.push([m.step ?? (last ? last[0] + 1 : 0), m.value, m.time ?? now]);
  }
  return { name, points };
}

export function renderSeries(s: MetricSeries) {
  const last = s.points.at(-1);
  return {
    name: s.name,
    ...(last ? { last: { step: last[0], value: last[1], time: new Date(last[2]).toISOString() } } : {}),
    points: s.points.map(([step, value, t]) => ({ step, value, time: new Date(t).toISOString() })),
  };
}

/**
 * A local job's credential for reporting on itself: an HMAC of the job's key and creation time under the
 * server's secret, so it is good for that job only (not for a later job of the same name) and needs no storage.
 */
export function jobToken(secret: string, job: { key: string; createdAt: string }): string {
  const mac = createHmac('sha256', secret).update(`job-token:v1\n${job.key}\n${job.createdAt}`).digest();
  return `mlgj_${mac.toString('base64url')}`;
}

export function verifyJobToken(
  secret: string,
  job: { key: string; createdAt: string },
  token: string,
): boolean {
  const want = Buffer.from(jobToken(secret, job));
  const got = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}
