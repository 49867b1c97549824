/**
 * Paths of the access-control routes. Role assignments and definitions are extension resources on any scope
 * below a subscription (`{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}`), matched before the
 * other ARM paths; principals are server-wide (`/providers/Microsoft.MLGrid/principals/{name}`), beside them.
 */
import { normalizePath } from './arm-path.js';

export type AuthorizationTarget =
  | { kind: 'roleAssignments'; scope: string }
  | { kind: 'roleAssignment'; scope: string; name: string }
  | { kind: 'roleDefinitions'; scope: string }
  | { kind: 'roleDefinition'; scope: string; name: string };

export type PrincipalTarget =
  | { kind: 'principals' }
  | { kind: 'principal'; name: string }
  | { kind: 'principalKeys'; name: string }
  | { kind: 'principalKey'; name: string; keyId: string }
  | { kind: 'principalRotateKey'; name: string };

/** Broker connections for queue destinations (http/connection-routes.ts), server-wide beside principals. */
export type ConnectionTarget = { kind: 'connections' } | { kind: 'connection'; name: string };

function segments(rawPath: string): string[] | undefined {
  try {
    return normalizePath(rawPath).split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

export function parseAuthorizationPath(rawPath: string): AuthorizationTarget | undefined {
  const seg = segments(rawPath);
  if (!seg) return undefined;
  const lower = seg.map((s) => s.toLowerCase());
  let at = -1;
  for (let i = lower.length - 2; i >= 2; i -= 1) {
    if (i % 2 === 1) continue; // a name, not a type position
    if (lower[i] === 'providers' && lower[i + 1] === 'microsoft.authorization') {
      at = i;
      break;
    }
  }
  if (at < 0 || lower[0] !== 'subscriptions' || !seg[1]) return undefined;
  const scope = `/${seg.slice(0, at).join('/')}`;
  const rest = lower.slice(at + 2);
  const name = seg[at + 3];
  if (rest.length === 0 || rest.length > 2 || name === '') return undefined;
  if (rest[0] === 'roleassignments') {
    return name === undefined ? { kind: 'roleAssignments', scope } : { kind: 'roleAssignment', scope, name };
  }
  if (rest[0] === 'roledefinitions') {
    return name === undefined ? { kind: 'roleDefinitions', scope } : { kind: 'roleDefinition', scope, name };
  }
  return undefined;
}

export function parsePrincipalPath(rawPath: string): PrincipalTarget | undefined {
  const seg = segments(rawPath);
  if (!seg) return undefined;
  const lower = seg.map((s) => s.toLowerCase());
  if (lower[0] !== 'providers' || lower[1] !== 'microsoft.mlgrid' || lower[2] !== 'principals')
    return undefined;
  const name = seg[3];
  if (name === undefined) return lower.length === 3 ? { kind: 'principals' } : undefined;
  if (lower.length === 4) return { kind: 'principal', name };
  if (lower.length === 5 && lower[4] === 'rotatekey') return { kind: 'principalRotateKey', name };
  if (lower[4] !== 'keys') return undefined;
  if (lower.length === 5) return { kind: 'principalKeys', name };
  if (lower.length === 6) return { kind: 'principalKey', name, keyId: seg[5]! };
  return undefined;
}

export function parseConnectionPath(rawPath: string): ConnectionTarget | undefined {
  const seg = segments(rawPath);
  if (!seg) return undefined;
  const lower = seg.map((s) => s.toLowerCase());
  if (lower[0] !== 'providers' || lower[1] !== 'microsoft.mlgrid' || lower[2] !== 'connections')
    return undefined;
  if (lower.length === 3) return { kind: 'connections' };
  return lower.length === 4 && seg[3] ? { kind: 'connection', name: seg[3] } : undefined;
}

/** The HTTP methods each access target accepts (a wrong method is a 405). */
export function accessAllowedMethods(t: AuthorizationTarget | PrincipalTarget | ConnectionTarget): string[] {
  switch (t.kind) {
    case 'roleAssignment':
    case 'connection':
      return ['PUT', 'GET', 'DELETE'];
    case 'principal':
      return ['PUT', 'GET', 'DELETE'];
    case 'principalKey':
      return ['DELETE'];
    case 'principalRotateKey':
      return ['POST'];
    default:
      return ['GET'];
  }
}
