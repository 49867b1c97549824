/**
 * Shared vocabulary of the benchmarks: a seeded PRNG and machine-learning lifecycle events (Event Grid schema)
 * drawn from a small, fixed vocabulary, so subscription filters written against the same vocabulary match a
 * realistic fraction of them.
 */

/** mulberry32: tiny, fast, good enough for workload generation; same seed → same workload on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;

export const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;

export function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rng() * total;
  for (const [x, w] of items) if ((r -= w) < 0) return x;
  return items[items.length - 1]![0];
}

const NS = 'Microsoft.MachineLearningServices.';
export const T_MODEL_REGISTERED = `${NS}ModelRegistered`;
export const T_MODEL_DEPLOYED = `${NS}ModelDeployed`;
export const T_RUN_COMPLETED = `${NS}RunCompleted`;
export const T_RUN_STATUS_CHANGED = `${NS}RunStatusChanged`;
export const T_DATASET_DRIFT = `${NS}DatasetDriftDetected`;
export const EVENT_TYPES = [
  T_MODEL_REGISTERED,
  T_MODEL_DEPLOYED,
  T_RUN_COMPLETED,
  T_RUN_STATUS_CHANGED,
  T_DATASET_DRIFT,
] as const;

/** Event mix: runs dominate, models and drift alerts are rarer. */
const TYPE_MIX = [
  [T_RUN_STATUS_CHANGED, 30],
  [T_RUN_COMPLETED, 25],
  [T_MODEL_REGISTERED, 20],
  [T_MODEL_DEPLOYED, 10],
  [T_DATASET_DRIFT, 15],
] as const;

export const MODELS = 200;
export const EXPERIMENTS = 100;
export const DATASETS = 50;
export const TAGS = ['prod', 'staging', 'dev', 'canary', 'research'] as const;
export const FILE_EXTS = ['parquet', 'csv', 'jsonl'] as const;
const STATUSES = ['Queued', 'Running', 'Completed', 'Failed', 'Canceled'] as const;
const TEAMS = ['vision', 'nlp', 'forecasting', 'ranking', 'fraud'] as const;

export const TOPIC_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-bench/providers/Microsoft.EventGrid/topics/ml-events';

export interface EgEvent {
  id: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: Record<string, unknown>;
  dataVersion: string;
}

function hex(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += int(rng, 16).toString(16);
  return s;
}

export function uuid(rng: Rng): string {
  return `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-a${hex(rng, 3)}-${hex(rng, 12)}`;
}

const WORDS =
  'baseline retrain candidate feature drift holdout validation gradient boosted transformer encoder sweep warmup cosine schedule checkpoint tokenizer calibration'.split(
    ' ',
  );

function sentence(rng: Rng, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(pick(rng, WORDS));
  return out.join(' ');
}

/**
 * One Event Grid event as an ML platform would publish it. `padding` words of free text make the JSON body
 * about 1 KB with the default (publish benchmark); routing uses `padding: 0` (the body size does not matter there).
 * A small share of events spell their subject with capitals, as hand-written publishers do.
 */
export function mlEvent(rng: Rng, seq: number, opts: { padding?: number } = {}): EgEvent {
  const eventType = weighted(rng, TYPE_MIX);
  const tag = rng() < 0.9 ? pick(rng, TAGS) : undefined; // some events carry no tag
  const score = Math.round(rng() * 1000) / 1000;
  const team = pick(rng, TEAMS);
  let subject: string;
  let data: Record<string, unknown>;
  if (eventType === T_MODEL_REGISTERED || eventType === T_MODEL_DEPLOYED) {
    const k = int(rng, MODELS);
    const v = 1 + int(rng, 20);
    subject = `models/model-${k}/versions/${v}`;
    data = {
      modelName: `model-${k}`,
      modelVersion: String(v),
      modelTags: { team, stage: tag ?? 'none' },
      modelProperties: {
        framework: pick(rng, ['pytorch', 'sklearn', 'onnx', 'lightgbm']),
        sizeMb: int(rng, 4000),
      },
      ...(eventType === T_MODEL_DEPLOYED
        ? { serviceName: `endpoint-${int(rng, 40)}`, serviceComputeType: pick(rng, ['Managed', 'AKS']) }
        : {}),
    };
  } else if (eventType === T_DATASET_DRIFT) {
    const k = int(rng, DATASETS);
    subject = `datasets/ds-${k}/snapshots/${int(rng, 1000)}.${pick(rng, FILE_EXTS)}`;
    data = {
      dataDriftId: uuid(rng),
      dataDriftName: `drift-monitor-${k}`,
      runId: `run-${int(rng, 100000)}`,
      baseDatasetId: uuid(rng),
      targetDatasetId: uuid(rng),
      driftCoefficient: score,
      startTime: '2026-01-01T00:00:00Z',
      endTime: '2026-01-08T00:00:00Z',
    };
  } else {
    const k = int(rng, EXPERIMENTS);
    const r = int(rng, 100000);
    subject = `experiments/${k}/runs/run-${r}`;
    data = {
      experimentId: uuid(rng),
      experimentName: `exp-${k}`,
      runId: `run-${r}`,
      runType: pick(rng, ['azureml.scriptrun', 'azureml.pipelinerun', 'hyperdrive']),
      runTags: { team, owner: `user-${int(rng, 50)}` },
      runProperties: { computeTarget: `gpu-cluster-${int(rng, 8)}`, priority: int(rng, 5) },
      ...(eventType === T_RUN_STATUS_CHANGED ? { runStatus: pick(rng, STATUSES) } : {}),
      metrics:
        eventType === T_RUN_COMPLETED
          ? { accuracy: score, loss: Math.round(rng() * 1e4) / 1e4, epochs: 1 + int(rng, 50) }
          : {},
    };
  }
  if (rng() < 0.03) subject = subject.replace(/^[a-z]/, (c) => c.toUpperCase()); // `Models/...`
  if (tag !== undefined) data.tag = tag;
  data.score = score;
  if (opts.padding) data.description = sentence(rng, opts.padding);
  return {
    id: uuid(rng),
    subject,
    eventType,
    eventTime: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
    data,
    dataVersion: '2',
  };
}

/** The event as mlgrid stamps and stores it (same field order as core/publish.ts `acceptEventGrid`). */
export function stamped(e: EgEvent, topicId = TOPIC_ID): Record<string, unknown> {
  const { id, subject, eventType, eventTime, data, dataVersion } = e;
  return { id, topic: topicId, subject, eventType, eventTime, data, dataVersion, metadataVersion: '1' };
}
