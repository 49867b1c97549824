/**
 * Data-drift monitors (`…/workspaces/{ws}/dataDriftDetectors/{name}`, an mlgrid extension shaped like Azure ML
 * 2022-10-01 resources): the PUT body, the period calendar (UTC days, Monday–Sunday weeks, months), and the
 * request bodies of `run` and `backfill`. Defaults and limits are Azure's v1 monitor's (reference drift.md §1.3).
 * Pure: no I/O, the clock is passed in.
 */
import { isAbsent, parseTags } from './arm-fields.js';
import { invalid, MlgridError } from './errors.js';
import {
  array,
  boolean,
  dateTime,
  isObject,
  object,
  oneOf,
  optObject,
  optString,
  parseIsoUtc,
  string,
  type Json,
} from './validate.js';

export const FREQUENCIES = ['Day', 'Week', 'Month'] as const;
export type Frequency = (typeof FREQUENCIES)[number];

export const DRIFT_LIMITS = {
  /** Azure: "The length of the list must be less than 200"; we allow 200 as the issue says (≤ 200). */
  maxFeatures: 200,
  /** Azure: "limited to 31 intervals of the monitor's frequency setting". */
  maxBackfillIntervals: 31,
  /** Azure: "Dataset monitors only work on datasets that contain 50 rows or more." */
  minRows: 50,
  /** Latency in hours: a year is plenty. */
  maxLatencyHours: 24 * 366,
} as const;

export const DRIFT_DEFAULTS = { threshold: 0.2, latencyHours: 0 } as const;

/** A registered data version: `{name, version}` in the monitor's workspace, or another workspace's by ARM id. */
export interface DataRef {
  /** Set when given as an ARM id naming another workspace. */
  workspace?: { subscriptionId: string; resourceGroup: string; workspace: string };
  name: string;
  version: string;
}

export interface DriftMonitorSpec {
  baselineData: DataRef;
  targetData: DataRef;
  timestampColumn: string;
  frequency: Frequency;
  latencyHours: number;
  /** Empty = every column common to both data sets (but the timestamp column). */
  features: string[];
  threshold: number;
  scheduleEnabled: boolean;
  /** Scheduled runs start with the period containing it (default: the latest complete period). */
  startTime?: string;
  /** Kept as given (mlgrid sends no mail: the event is the alert). */
  alertSettings?: Json;
  description?: string;
  tags: Record<string, string>;
}

/** What the scheduler keeps on the monitor document (compare-and-set guards it across nodes). */
export interface DriftMonitorRuntime {
  /** Event subject id (`datadrift/{id}/run/{runId}`), a GUID given at creation. */
  dataDriftId: string;
  /** Start of the last period a scheduler claimed (ISO). */
  lastScheduledPeriod?: string;
}

export interface DriftMonitorDoc {
  spec: DriftMonitorSpec;
  runtime: DriftMonitorRuntime;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$/;
const DATA_ID_RE =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/workspaces\/([^/]+)\/data\/([^/]+)\/versions\/([^/]+)$/i;

export function validateMonitorName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new MlgridError(
      'InvalidResourceName',
      `Data drift detector name '${name}' must match ${NAME_RE.source}.`,
      'name',
    );
  }
}

/** `{name, version}`, `azureml:name:version`, `name:version` or a data version's ARM id. */
export function parseDataRef(v: unknown, path: string): DataRef {
  if (isObject(v)) {
    const name = string(v.name, `${path}.name`, { min: 1 });
    const version = v.version;
    if (typeof version !== 'string' && typeof version !== 'number')
      throw invalid(`${path}.version`, 'must be a string');
    if (!NAME_RE.test(name)) throw invalid(`${path}.name`, 'is not a valid data asset name');
    return { name, version: String(version) };
  }
  const s = string(v, path, { min: 1 });
  const id = DATA_ID_RE.exec(s);
  if (id) {
    return {
      workspace: { subscriptionId: id[1]!, resourceGroup: id[2]!, workspace: id[3]! },
      name: id[4]!,
      version: id[5]!,
    };
  }
  const short = /^(?:azureml:)?([^:/]+):([^:/]+)$/i.exec(s);
  if (short) return { name: short[1]!, version: short[2]! };
  throw invalid(path, 'must be {name, version}, "name:version" or a data version ARM id');
}

function threshold(v: unknown, path: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw invalid(path, 'must be a number from 0 to 1');
  return v;
}

/** The PUT body. Frequency and latency cannot change once created (Azure: "not mutable after creation"). */
export function parseMonitorPut(body: unknown, current?: DriftMonitorSpec): DriftMonitorSpec {
  const b = object(body, '(body)');
  const p = object(b.properties, 'properties');
  const frequency = oneOf(p.frequency, 'properties.frequency', FREQUENCIES);
  let latencyHours: number = DRIFT_DEFAULTS.latencyHours;
  if (!isAbsent(p.latencyHours)) {
    const l = p.latencyHours;
    if (typeof l !== 'number' || !Number.isInteger(l) || l < 0 || l > DRIFT_LIMITS.maxLatencyHours)
      throw invalid(
        'properties.latencyHours',
        `must be an integer from 0 to ${DRIFT_LIMITS.maxLatencyHours}`,
      );
    latencyHours = l;
  }
  if (current && current.frequency !== frequency)
    throw invalid('properties.frequency', 'cannot be changed after creation; create another monitor');
  if (current && current.latencyHours !== latencyHours)
    throw invalid('properties.latencyHours', 'cannot be changed after creation; create another monitor');
  const features: string[] = [];
  if (!isAbsent(p.features)) {
    const raw = array(p.features, 'properties.features');
    if (raw.length > DRIFT_LIMITS.maxFeatures)
      throw invalid('properties.features', `at most ${DRIFT_LIMITS.maxFeatures} features`);
    const seen = new Set<string>();
    raw.forEach((f, i) => {
      const name = string(f, `properties.features[${i}]`, { min: 1 });
      if (seen.has(name)) throw invalid(`properties.features[${i}]`, `'${name}' is listed twice`);
      seen.add(name);
      features.push(name);
    });
  }
  const timestampColumn = string(p.timestampColumn, 'properties.timestampColumn', { min: 1 });
  if (features.includes(timestampColumn))
    throw invalid('properties.features', 'must not contain the timestamp column');
  const spec: DriftMonitorSpec = {
    baselineData: parseDataRef(p.baselineData, 'properties.baselineData'),
    targetData: parseDataRef(p.targetData, 'properties.targetData'),
    timestampColumn,
    frequency,
    latencyHours,
    features,
    threshold: isAbsent(p.threshold)
      ? DRIFT_DEFAULTS.threshold
      : threshold(p.threshold, 'properties.threshold'),
    scheduleEnabled: isAbsent(p.scheduleEnabled)
      ? false
      : boolean(p.scheduleEnabled, 'properties.scheduleEnabled'),
    tags: isAbsent(b.tags) ? {} : parseTags(b.tags, 'tags'),
  };
  if (!isAbsent(p.startTime)) spec.startTime = dateTime(p.startTime, 'properties.startTime');
  const alerts = optObject(p.alertSettings, 'properties.alertSettings');
  if (alerts) spec.alertSettings = alerts;
  const description = optString(p.description, 'properties.description', { max: 5000 });
  if (description !== undefined) spec.description = description;
  return spec;
}

// ------------------------------------------------------------------ periods (UTC)

export interface Period {
  start: Date;
  end: Date;
}

/** The period of `frequency` containing `t`. Weeks run Monday–Sunday. */
export function periodContaining(frequency: Frequency, t: Date | number): Period {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  if (frequency === 'Month')
    return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
  if (frequency === 'Day')
    return { start: new Date(Date.UTC(y, m, day)), end: new Date(Date.UTC(y, m, day + 1)) };
  const back = (d.getUTCDay() + 6) % 7; // days since Monday
  return { start: new Date(Date.UTC(y, m, day - back)), end: new Date(Date.UTC(y, m, day - back + 7)) };
}

export function nextPeriod(frequency: Frequency, p: Period): Period {
  return periodContaining(frequency, p.end);
}

/** The latest period whose end + latency is at or before `now` (the period before the one `now − latency` is in). */
export function latestDuePeriod(frequency: Frequency, latencyHours: number, now: Date | number): Period {
  const current = periodContaining(frequency, new Date(now).getTime() - latencyHours * 3_600_000);
  return periodContaining(frequency, current.start.getTime() - 1);
}

/** Periods from the one containing `from` to the one containing `to` (inclusive); `max + 1` at most. */
export function periodsBetween(frequency: Frequency, from: Date, to: Date, max: number): Period[] {
  const out: Period[] = [];
  for (
    let p = periodContaining(frequency, from);
    p.start <= to && out.length <= max;
    p = nextPeriod(frequency, p)
  )
    out.push(p);
  return out;
}

/** `run`: `{targetDate}` (the period containing it) or `{startTime, endTime}` (any window, end exclusive). */
export function parseRunBody(body: unknown, frequency: Frequency): Period {
  const b = isAbsent(body) ? {} : object(body, '(body)');
  if (!isAbsent(b.targetDate)) {
    if (!isAbsent(b.startTime) || !isAbsent(b.endTime))
      throw invalid('targetDate', 'give either targetDate or startTime and endTime');
    return periodContaining(frequency, parseIsoUtc(dateTime(b.targetDate, 'targetDate')));
  }
  if (isAbsent(b.startTime)) throw invalid('targetDate', 'is required (or startTime and endTime)');
  if (isAbsent(b.endTime)) throw invalid('endTime', 'is required with startTime');
  const start = new Date(dateTime(b.startTime, 'startTime'));
  const end = new Date(dateTime(b.endTime, 'endTime'));
  if (end <= start) throw invalid('endTime', 'must be after startTime');
  return { start, end };
}

/** `backfill`: `{startDate, endDate}`, end inclusive, at most 31 periods. */
export function parseBackfillBody(body: unknown, frequency: Frequency): Period[] {
  const b = object(body, '(body)');
  const start = new Date(dateTime(b.startDate, 'startDate'));
  const end = new Date(dateTime(b.endDate, 'endDate'));
  if (end < start) throw invalid('endDate', 'must not be before startDate');
  const periods = periodsBetween(frequency, start, end, DRIFT_LIMITS.maxBackfillIntervals);
  if (periods.length > DRIFT_LIMITS.maxBackfillIntervals) {
    throw invalid(
      'endDate',
      `a backfill covers at most ${DRIFT_LIMITS.maxBackfillIntervals} intervals of the monitor's frequency (${frequency})`,
    );
  }
  return periods;
}

/** Key segment of a period's result: its start, compact and sortable (`20250102T000000Z`). */
export function periodKey(start: Date): string {
  return start.toISOString().replace(/[-:]|\.\d+/g, '');
}

export function renderMonitor(
  doc: DriftMonitorDoc,
  meta: {
    id: string;
    name: string;
    createdAt: string;
    updatedAt: string;
    baseDatasetId: string;
    targetDatasetId: string;
  },
) {
  const s = doc.spec;
  return {
    id: meta.id,
    name: meta.name,
    type: 'Microsoft.MachineLearningServices/workspaces/dataDriftDetectors',
    tags: s.tags,
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties: {
      baselineData: { name: s.baselineData.name, version: s.baselineData.version },
      targetData: { name: s.targetData.name, version: s.targetData.version },
      baseDatasetId: meta.baseDatasetId,
      targetDatasetId: meta.targetDatasetId,
      timestampColumn: s.timestampColumn,
      frequency: s.frequency,
      latencyHours: s.latencyHours,
      features: s.features,
      threshold: s.threshold,
      scheduleEnabled: s.scheduleEnabled,
      ...(s.startTime ? { startTime: s.startTime } : {}),
      ...(s.alertSettings ? { alertSettings: s.alertSettings } : {}),
      ...(s.description !== undefined ? { description: s.description } : {}),
      dataDriftId: doc.runtime.dataDriftId,
      ...(doc.runtime.lastScheduledPeriod ? { lastScheduledPeriod: doc.runtime.lastScheduledPeriod } : {}),
      provisioningState: 'Succeeded',
    },
  };
}

/**
 * The next period a scheduler should run: the one after `lastScheduledPeriod` (or the one containing
 * `startTime`, or else the latest complete one), if it is complete (end + latency ≤ now). Catching up after
 * downtime is bounded: at most `maxCatchUp` periods before the latest complete one are run, older are skipped.
 */
export function nextScheduledPeriod(
  spec: Pick<DriftMonitorSpec, 'frequency' | 'latencyHours' | 'startTime'>,
  lastScheduledPeriod: string | undefined,
  now: Date,
  maxCatchUp: number = DRIFT_LIMITS.maxBackfillIntervals,
): Period | undefined {
  const due = latestDuePeriod(spec.frequency, spec.latencyHours, now);
  let next: Period;
  if (lastScheduledPeriod)
    next = nextPeriod(spec.frequency, periodContaining(spec.frequency, Date.parse(lastScheduledPeriod)));
  else if (spec.startTime) next = periodContaining(spec.frequency, Date.parse(spec.startTime));
  else next = due;
  if (next.start > due.start) return undefined;
  let oldest = due;
  for (let i = 1; i < maxCatchUp && oldest.start > next.start; i++)
    oldest = periodContaining(spec.frequency, oldest.start.getTime() - 1);
  return next.start < oldest.start ? oldest : next;
}
