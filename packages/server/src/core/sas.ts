/**
 * Publish authentication (reference §6.2): access keys and SAS tokens, byte-compatible with what
 * `@azure/eventgrid`'s `generateSharedAccessSignature` builds and tolerant of Azure's C#/Python sample variants.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type SasVerification = { ok: true } | { ok: false; reason: string };

/** The `apiVersion` the SDK signs into `r` when none is given. */
export const SAS_API_VERSION = '2018-01-01';

const US_EXPIRY_RE = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AP]M)$/i;
const ISO_EXPIRY_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/**
 * Verify a SAS token (`aeg-sas-token` value, or the `Authorization: SharedAccessSignature ...` form) against the
 * URL the client called. `r` must be a case-insensitive prefix of that URL, ending at a path-segment boundary.
 */
export function verifySasToken(
  token: string,
  opts: { requestUrl: string; keys: string[]; now: Date },
): SasVerification {
  const fields = splitToken(token);
  if (typeof fields === 'string') return fail(fields);

  let resource: string;
  let expiry: string;
  let signature: string;
  try {
    // C# HttpUtility.UrlEncode and Python quote_plus encode a space as '+'; base64 '+' is always %2B there.
    resource = decodeURIComponent(fields.r.replace(/\+/g, ' '));
    expiry = decodeURIComponent(fields.e.replace(/\+/g, ' '));
    signature = decodeURIComponent(fields.s);
  } catch {
    return fail('token is not correctly URL-encoded');
  }

  const expiresAt = parseExpiry(expiry);
  if (expiresAt === undefined) return fail(`unrecognized expiry '${expiry}'`);
  if (expiresAt <= opts.now.getTime()) return fail('token has expired');

  const signed = canonicalUrl(resource);
  const target = canonicalUrl(opts.requestUrl);
  if (signed === undefined) return fail('token resource is not an absolute URL');
  if (target === undefined || (target !== signed && !target.startsWith(`${signed}/`))) {
    return fail('token resource does not match the request URL');
  }

  // The signed string is r and e exactly as sent (still encoded), whatever order the token listed them in.
  const message = `r=${fields.r}&e=${fields.e}`;
  const given = Buffer.from(signature, 'base64');
  let match = false;
  for (const key of opts.keys) {
    if (!key) continue;
    const mac = hmac(key, message);
    // Check every key (no early exit) so timing doesn't reveal which one matched.
    if (mac.length === given.length && timingSafeEqual(mac, given)) match = true;
  }
  return match ? { ok: true } : fail('signature does not match');
}

/**
 * Build a token the way the SDK does: `r` = resource + `?apiVersion=2018-01-01` (pass `apiVersion: null` to sign
 * the resource verbatim), `e` = `M/d/yyyy h:mm:ss AM|PM` UTC, `s` = base64 HMAC-SHA256 with the decoded key.
 */
export function generateSasToken(
  resource: string,
  expires: Date,
  key: string,
  opts: { apiVersion?: string | null } = {},
): string {
  const r =
    opts.apiVersion === null ? resource : `${resource}?apiVersion=${opts.apiVersion ?? SAS_API_VERSION}`;
  const unsigned = `r=${encodeURIComponent(r)}&e=${encodeURIComponent(formatSasExpiry(expires))}`;
  return `${unsigned}&s=${encodeURIComponent(hmac(key, unsigned).toString('base64'))}`;
}

/** The SDK's `dateToServiceTimeString`: UTC, 12-hour clock, hour 0 → 12, minutes/seconds zero-padded. */
export function formatSasExpiry(d: Date): string {
  const h = d.getUTCHours();
  const hour = h % 12 === 0 ? 12 : h % 12;
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const ss = String(d.getUTCSeconds()).padStart(2, '0');
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${hour}:${mm}:${ss} ${h >= 12 ? 'PM' : 'AM'}`;
}

/** Constant-time string comparison (hashing first hides the length too). */
export function keysEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/** A fresh access key shaped like Azure's: 32 random bytes, base64 (44 characters). */
export function newAccessKey(): string {
  return randomBytes(32).toString('base64');
}

// ---------------------------------------------------------------- helpers

function fail(reason: string): SasVerification {
  return { ok: false, reason };
}

function hmac(key: string, message: string): Buffer {
  return createHmac('sha256', Buffer.from(key, 'base64')).update(message, 'utf8').digest();
}

function splitToken(token: string): { r: string; e: string; s: string } | string {
  const t = token.trim().replace(/^SharedAccessSignature\s+/i, '');
  const raw = new Map<string, string>();
  for (const part of t.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return 'token is malformed';
    const k = part.slice(0, eq);
    if (raw.has(k)) return `token repeats '${k}'`;
    raw.set(k, part.slice(eq + 1));
  }
  const r = raw.get('r');
  const e = raw.get('e');
  const s = raw.get('s');
  if (!r || !e || !s) return 'token must have r, e and s';
  return { r, e, s };
}

/** Expiry as the SDK/C# write it (`6/5/2024 12:09:03 PM`, UTC) or ISO-8601 (no offset = UTC, as Python's). */
function parseExpiry(text: string): number | undefined {
  const t = text.trim();
  const m = US_EXPIRY_RE.exec(t);
  if (m) {
    const [month, day, year, hour12, minute, second] = m.slice(1, 7).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    if (hour12 < 1 || hour12 > 12 || minute > 59 || second > 59) return undefined;
    const hour = (hour12 % 12) + (m[7]?.toUpperCase() === 'PM' ? 12 : 0);
    const ms = Date.UTC(year, month - 1, day, hour, minute, second);
    const back = new Date(ms);
    // Date.UTC rolls 2/31 over to March; reject instead.
    return back.getUTCMonth() === month - 1 && back.getUTCDate() === day ? ms : undefined;
  }
  if (ISO_EXPIRY_RE.test(t)) {
    const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(t) ? t : `${t}Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** scheme://host[:port]/decoded-path, lower-cased, without query, fragment or trailing '/'. */
function canonicalUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    path = url.pathname;
  }
  return `${url.protocol}//${url.host}${path}`.toLowerCase().replace(/\/+$/, '');
}
