import { createHmac } from 'node:crypto';
import { AzureKeyCredential, generateSharedAccessSignature } from '@azure/eventgrid';
import { describe, expect, it } from 'vitest';
import { formatSasExpiry, generateSasToken, keysEqual, newAccessKey, verifySasToken } from './sas.js';

const ENDPOINT = 'http://127.0.0.1:4710/topics/t1/api/events';
/** What the SDK actually POSTs to. */
const REQUEST_URL = `${ENDPOINT}?api-version=2018-01-01`;
const KEY1 = newAccessKey();
const KEY2 = newAccessKey();
const NOW = new Date('2025-01-01T00:00:00Z');
const LATER = new Date('2025-01-01T01:00:00Z');

const sdkToken = (endpoint = ENDPOINT, key = KEY1, expires = LATER) =>
  generateSharedAccessSignature(endpoint, new AzureKeyCredential(key), expires);
const verify = (token: string, requestUrl = REQUEST_URL, now = NOW) =>
  verifySasToken(token, { requestUrl, keys: [KEY1, KEY2], now });

describe('verifySasToken with @azure/eventgrid tokens', () => {
  it('accepts a token from either key, bare or in the Authorization header form', async () => {
    expect(verify(await sdkToken())).toEqual({ ok: true });
    expect(verify(await sdkToken(ENDPOINT, KEY2))).toEqual({ ok: true });
    expect(verify(`SharedAccessSignature ${await sdkToken()}`)).toEqual({ ok: true });
  });

  it('matches the resource case-insensitively and as a prefix at a path boundary', async () => {
    expect(verify(await sdkToken(ENDPOINT.toUpperCase().replace('HTTP:', 'http:')))).toEqual({ ok: true });
    expect(verify(await sdkToken('http://127.0.0.1:4710/topics/t1'))).toEqual({ ok: true });
    expect(verify(await sdkToken('http://127.0.0.1:4710/topics/t1/'))).toEqual({ ok: true });
    // "t1" must not authorize "t10".
    expect(
      verify(
        await sdkToken('http://127.0.0.1:4710/topics/t1'),
        'http://127.0.0.1:4710/topics/t10/api/events',
      ),
    ).toMatchObject({ ok: false });
  });

  it('rejects a token for another resource', async () => {
    expect(verify(await sdkToken('http://127.0.0.1:4710/topics/t2/api/events'))).toMatchObject({ ok: false });
    expect(verify(await sdkToken('http://localhost:4710/topics/t1/api/events'))).toMatchObject({ ok: false });
    expect(verify(await sdkToken('https://127.0.0.1:4710/topics/t1/api/events'))).toMatchObject({
      ok: false,
    });
  });

  it('rejects an expired token', async () => {
    const token = await sdkToken(ENDPOINT, KEY1, new Date(NOW.getTime() - 1000));
    expect(verify(token)).toEqual({ ok: false, reason: 'token has expired' });
    expect(verify(await sdkToken(), REQUEST_URL, LATER)).toEqual({ ok: false, reason: 'token has expired' });
  });

  it('rejects tampering and unknown keys', async () => {
    const token = await sdkToken();
    const s = token.slice(token.indexOf('&s=') + 3);
    const flipped = token.replace(`&s=${s}`, `&s=${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`);
    expect(verify(flipped)).toEqual({ ok: false, reason: 'signature does not match' });
    // Pushing the expiry out invalidates the signature.
    const extended = token.replace(/&e=[^&]*/, `&e=${encodeURIComponent('1/1/2030 1:00:00 AM')}`);
    expect(verify(extended)).toEqual({ ok: false, reason: 'signature does not match' });
    expect(verify(await sdkToken(ENDPOINT, newAccessKey()))).toEqual({
      ok: false,
      reason: 'signature does not match',
    });
    expect(verifySasToken(token, { requestUrl: REQUEST_URL, keys: [], now: NOW })).toMatchObject({
      ok: false,
    });
  });

  it('rejects malformed tokens', () => {
    for (const t of [
      '',
      'garbage',
      'r=x&e=y',
      'r=a&r=b&e=c&s=d',
      'r=%E0%A4%A&e=1&s=x',
      'r=http%3A%2F%2Fh&e=soon&s=x',
    ]) {
      expect(verify(t)).toMatchObject({ ok: false });
    }
  });
});

describe('reference §6.2 worked example', () => {
  const endpoint = 'https://mytopic.westus2-1.eventgrid.azure.net/api/events';
  const key = 'c2VjcmV0a2V5';
  const expires = new Date('2024-06-05T12:09:03Z');
  const expected =
    'r=https%3A%2F%2Fmytopic.westus2-1.eventgrid.azure.net%2Fapi%2Fevents%3FapiVersion%3D2018-01-01' +
    '&e=6%2F5%2F2024%2012%3A09%3A03%20PM&s=%2Bn0dp943futkXAaemKpOMbmuiR83FZOF3PLmIC3WsUg%3D';

  it('generateSasToken and the SDK both produce the documented token', async () => {
    expect(generateSasToken(endpoint, expires, key)).toBe(expected);
    expect(await generateSharedAccessSignature(endpoint, new AzureKeyCredential(key), expires)).toBe(
      expected,
    );
  });

  it('verifies before the expiry and not after', () => {
    const opts = { requestUrl: `${endpoint}?api-version=2018-01-01`, keys: [key] };
    expect(verifySasToken(expected, { ...opts, now: new Date('2024-06-05T12:09:02Z') })).toEqual({
      ok: true,
    });
    expect(verifySasToken(expected, { ...opts, now: expires })).toMatchObject({ ok: false });
  });
});

describe('tokens as the C# and Python samples build them', () => {
  const sign = (unsigned: string, key: string) =>
    encodeURIComponent(createHmac('sha256', Buffer.from(key, 'base64')).update(unsigned).digest('base64'));

  it('accepts form encoding (+ for space, lower-case hex) with an en-US expiry', () => {
    const r = ENDPOINT.replace(/:/g, '%3a').replace(/\//g, '%2f');
    const unsigned = `r=${r}&e=1%2f1%2f2025+12%3a30%3a00+AM`;
    expect(verify(`${unsigned}&s=${sign(unsigned, KEY1)}`)).toEqual({ ok: true });
  });

  it('accepts an ISO-8601 expiry, with or without an offset (none = UTC)', () => {
    for (const e of ['2025-01-01T00:30:00', '2025-01-01T00:30:00.123456', '2025-01-01T02:30:00+02:00']) {
      const unsigned = `r=${encodeURIComponent(ENDPOINT)}&e=${encodeURIComponent(e).replace(/%20/g, '+')}`;
      expect(verify(`${unsigned}&s=${sign(unsigned, KEY2)}`)).toEqual({ ok: true });
      expect(verify(`${unsigned}&s=${sign(unsigned, KEY2)}`, REQUEST_URL, LATER)).toMatchObject({
        ok: false,
      });
    }
  });

  it('accepts the parameters in any order but rejects impossible dates', () => {
    const unsigned = `r=${encodeURIComponent(ENDPOINT)}&e=${encodeURIComponent('2/31/2030 1:00:00 AM')}`;
    expect(verify(`${unsigned}&s=${sign(unsigned, KEY1)}`)).toMatchObject({ ok: false });
    const ok = `r=${encodeURIComponent(ENDPOINT)}&e=${encodeURIComponent('1/1/2030 1:00:00 AM')}`;
    const [r, e] = ok.split('&') as [string, string];
    expect(verify(`s=${sign(ok, KEY1)}&${e}&${r}`)).toEqual({ ok: true });
  });
});

describe('generateSasToken', () => {
  it('round-trips through verifySasToken and can sign a resource verbatim', () => {
    expect(verify(generateSasToken(ENDPOINT, LATER, KEY1))).toEqual({ ok: true });
    const verbatim = generateSasToken(ENDPOINT, LATER, KEY1, { apiVersion: null });
    expect(decodeURIComponent(verbatim.split('&')[0] ?? '')).toBe(`r=${ENDPOINT}`);
    expect(verify(verbatim)).toEqual({ ok: true });
  });

  it('formats expiries like the SDK (12-hour UTC clock)', () => {
    expect(formatSasExpiry(new Date('2024-06-05T00:05:09Z'))).toBe('6/5/2024 12:05:09 AM');
    expect(formatSasExpiry(new Date('2024-12-25T12:00:00Z'))).toBe('12/25/2024 12:00:00 PM');
    expect(formatSasExpiry(new Date('2024-01-01T23:59:59Z'))).toBe('1/1/2024 11:59:59 PM');
  });
});

describe('keys', () => {
  it('newAccessKey makes 44-character base64 keys of 32 random bytes', () => {
    const k = newAccessKey();
    expect(k).toHaveLength(44);
    expect(Buffer.from(k, 'base64')).toHaveLength(32);
    expect(newAccessKey()).not.toBe(k);
  });

  it('keysEqual compares exactly', () => {
    expect(keysEqual(KEY1, KEY1)).toBe(true);
    expect(keysEqual(KEY1, KEY2)).toBe(false);
    expect(keysEqual(KEY1, KEY1.slice(0, -1))).toBe(false);
    expect(keysEqual('', '')).toBe(true);
  });
});
