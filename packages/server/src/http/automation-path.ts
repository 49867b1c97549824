/**
 * Automation paths below a workspace (docs/automations.md#api):
 * `automations[/{name}[/run | /runs[/{runId}[/cancel]]]]`.
 * Parsed for `ml-path.ts`, which owns the workspace prefix.
 */
import type { WorkspaceRef } from '../core/ml-events.js';

export type AutomationTarget =
  | ({ kind: 'automations' } & WorkspaceRef)
  | ({ kind: 'automation'; automation: string; action?: 'run' } & WorkspaceRef)
  | ({ kind: 'automationRuns'; automation: string } & WorkspaceRef)
  | ({ kind: 'automationRun'; automation: string; run: string; action?: 'cancel' } & WorkspaceRef);

/** `seg`/`lower`: decoded path segments; index 8 is `automations`. */
export function parseAutomationPath(
  seg: string[],
  lower: string[],
  ws: WorkspaceRef,
): AutomationTarget | undefined {
  if (lower.length === 9) return { kind: 'automations', ...ws };
  const automation = seg[9]!;
  if (lower.length === 10) return { kind: 'automation', ...ws, automation };
  if (lower.length === 11 && lower[10] === 'run')
    return { kind: 'automation', ...ws, automation, action: 'run' };
  if (lower[10] !== 'runs') return undefined;
  if (lower.length === 11) return { kind: 'automationRuns', ...ws, automation };
  if (lower.length === 12) return { kind: 'automationRun', ...ws, automation, run: seg[11]! };
  if (lower.length === 13 && lower[12] === 'cancel')
    return { kind: 'automationRun', ...ws, automation, run: seg[11]!, action: 'cancel' };
  return undefined;
}

export function automationAllowedMethods(t: AutomationTarget): string[] {
  if (t.kind === 'automation') return t.action === 'run' ? ['POST'] : ['PUT', 'GET', 'DELETE'];
  if (t.kind === 'automationRun' && t.action === 'cancel') return ['POST'];
  return ['GET'];
}
