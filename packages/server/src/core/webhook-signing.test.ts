import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook } from './webhook-signing.js';

const BODY = '[{"id":"eg-1","data":{"runId":"r1","note":"ünïcödé"}}]';

describe('newWebhookSecret', () => {
  it('is whsec_ + base64 of 32 random bytes', () => {
    const s = newWebhookSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(s);
  });
});

describe('signWebhook', () => {
  const oldSecret = newWebhookSecret();
  const newSecret = newWebhookSecret();

  it('verifies with standardwebhooks for each of two rotated secrets', () => {
    const headers = signWebhook([oldSecret, newSecret], 'msg_1', new Date(), BODY);
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(BODY, { ...headers })).toEqual(JSON.parse(BODY));
    expect(new Webhook(newSecret).verify(BODY, { ...headers })).toEqual(JSON.parse(BODY));
    expect(() => new Webhook(newWebhookSecret()).verify(BODY, { ...headers })).toThrow(
      /No matching signature/,
    );
  });

  it('matches the reference implementation byte for byte', () => {
    const at = new Date('2025-03-04T05:06:07.890Z');
    const headers = signWebhook([oldSecret], 'msg_2', at, BODY);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(at.getTime() / 1000)));
    expect(headers['webhook-signature']).toBe(new Webhook(oldSecret).sign('msg_2', at, BODY));
    // The prefix is optional on input, as in the reference implementation.
    expect(signWebhook([oldSecret.slice(6)], 'msg_2', at, BODY)).toEqual(headers);
    // A body sent as its UTF-8 bytes signs the same.
    expect(signWebhook([oldSecret], 'msg_2', at, Buffer.from(BODY, 'utf8'))).toEqual(headers);
  });

  it('fails verification for a tampered body, id or timestamp', () => {
    const headers = signWebhook([oldSecret, newSecret], 'msg_3', new Date(), BODY);
    const wh = new Webhook(newSecret);
    expect(() => wh.verify(BODY.replace('r1', 'r2'), { ...headers })).toThrow(/No matching signature/);
    expect(() => wh.verify(BODY, { ...headers, 'webhook-id': 'msg_4' })).toThrow(/No matching signature/);
    const ts = String(Number(headers['webhook-timestamp']) - 1);
    expect(() => wh.verify(BODY, { ...headers, 'webhook-timestamp': ts })).toThrow(/No matching signature/);
  });

  it('rejects an empty secret list or an empty secret', () => {
    expect(() => signWebhook([], 'm', new Date(), BODY)).toThrow();
    expect(() => signWebhook(['whsec_'], 'm', new Date(), BODY)).toThrow();
  });
});
