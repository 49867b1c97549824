/**
 * Automation runs through the SDK (`client.automations.runs`), and `rest` for plain calls to the same
 * Azure-shaped routes the CLI uses, with the session's key as Bearer.
 */
import type { AutomationRunOut } from '@mlgrid/client';
import type { Session } from './session.js';
import { ExampleError, waitUntil } from './wait.js';

export const ML_API = '2022-10-01';

export async function rest<T = Record<string, unknown>>(
  s: Session,
  method: string,
  path: string,
  body?: unknown,
  apiVersion = ML_API,
): Promise<T> {
  const sep = path.includes('?') ? '&' : '?';
  const res = await fetch(`${s.url}${path}${sep}api-version=${apiVersion}`, {
    method,
    headers: {
      authorization: `Bearer ${s.key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new ExampleError(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export type AutomationRun = AutomationRunOut;

export const automationPath = (s: Session, name: string) => `${s.wsId}/automations/${name}`;

/** The automation's runs, newest first. */
export function automationRuns(s: Session, name: string): Promise<AutomationRun[]> {
  return s.client.automations.runs.list(s.rg, s.ws, name);
}

export const isFinalRun = (r: AutomationRun) =>
  ['Succeeded', 'Failed', 'Skipped'].includes(r.properties.status);

/** Waits until the automation has runs satisfying `ok`; a failed run is reported with its error at once. */
export async function waitForRuns(
  s: Session,
  name: string,
  what: string,
  ok: (runs: AutomationRun[]) => boolean,
  timeoutMs: number,
): Promise<AutomationRun[]> {
  return waitUntil(
    what,
    async () => {
      const runs = await automationRuns(s, name);
      const failed = runs.find((r) => r.properties.status === 'Failed');
      if (failed)
        throw new ExampleError(`automation ${name}: run ${failed.name} failed: ${runSummary(failed)}`);
      return runs;
    },
    ok,
    timeoutMs,
    { show: (runs) => runs.map((r) => r.properties.status).join(', ') || 'no runs', everyMs: 300 },
  );
}

/** "Succeeded: mail: mailed 1 recipient(s)" / "Skipped: condition not met". */
export function runSummary(r: AutomationRun): string {
  const p = r.properties;
  const steps = p.steps.map((st) => `${st.name}: ${st.error?.message ?? st.summary ?? st.status}`).join('; ');
  return `${p.status}${p.reason ? ` (${p.reason})` : ''}${steps ? `: ${steps}` : ''}`;
}
