/**
 * Azure App Service function paths, served for local functions (docs/functions.md):
 * `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}/functions[/{fn}]`.
 */
import type { FunctionRef, SiteRef } from '../core/function-app.js';

export type FunctionTarget = ({ kind: 'functions' } & SiteRef) | ({ kind: 'function' } & FunctionRef);

/** `seg`/`lower`: the decoded path segments after the leading slash (original and lower case). */
export function parseFunctionPath(seg: string[], lower: string[]): FunctionTarget | undefined {
  if (
    lower[2] !== 'resourcegroups' ||
    lower[4] !== 'providers' ||
    lower[5] !== 'microsoft.web' ||
    lower[6] !== 'sites' ||
    !seg[7] ||
    lower[8] !== 'functions'
  ) {
    return undefined;
  }
  const site = { subscriptionId: seg[1]!, resourceGroup: seg[3]!, app: seg[7] };
  if (lower.length === 9) return { kind: 'functions', ...site };
  if (lower.length === 10) return { kind: 'function', ...site, name: seg[9]! };
  return undefined;
}

export function isFunctionTarget(t: { kind: string }): t is FunctionTarget {
  return t.kind === 'functions' || t.kind === 'function';
}

/** Azure's WebApps function operations: ListFunctions; CreateFunction, GetFunction, DeleteFunction. */
export function functionAllowedMethods(t: FunctionTarget): string[] {
  return t.kind === 'functions' ? ['GET'] : ['PUT', 'GET', 'DELETE'];
}
