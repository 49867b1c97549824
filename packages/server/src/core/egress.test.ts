import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { createEgressGuard, DEFAULT_EGRESS_DENY, parseCidrList } from './egress.js';

type LookupOutcome = {
  err: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family?: number;
};

/** Calls `lookup` the way node:net does, with either option shape, and captures the callback. */
function resolve(
  lookup: ReturnType<typeof createEgressGuard>['lookup'],
  host: string,
  options?: { all?: boolean; family?: number },
): Promise<LookupOutcome> {
  return new Promise((done) => {
    const cb = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) =>
      done({ err, address, family });
    if (options?.all) lookup(host, { ...options, all: true }, cb as never);
    else if (options) lookup(host, options, cb as never);
    else lookup(host, cb as never);
  });
}

describe('check (default policy)', () => {
  const guard = createEgressGuard();

  it.each([
    '169.254.169.254',
    '169.254.170.2',
    '169.254.0.1',
    '169.254.255.255',
    '100.100.100.200',
    '168.63.129.16',
    'fd00:ec2::254',
    'FD00:EC2:0:0:0:0:0:254',
    'fd20:ce::254',
    'fe80::1',
    'fe80::1%eth0',
    'febf:ffff::1',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '0:0:0:0:0:ffff:169.254.169.254',
    '::ffff:100.100.100.200',
    '::ffff:168.63.129.16',
  ])('denies %s', (ip) => {
    const v = guard.check(ip);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toContain(ip);
  });

  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '::1',
    '10.0.0.5',
    '172.16.3.4',
    '192.168.1.10',
    'fd12:3456::1',
    'fd00:ec2::253',
    '100.100.100.201',
    '168.63.129.17',
    '169.253.255.255',
    '169.255.0.0',
    '8.8.8.8',
    '2001:4860:4860::8888',
    '::ffff:127.0.0.1',
    '::ffff:8.8.8.8',
    '::',
    '::169.254.169.254', // IPv4-compatible (deprecated), not mapped: a different address
    'fec0::1',
  ])('allows %s', (ip) => {
    expect(guard.check(ip)).toEqual({ ok: true });
  });

  it('refuses things that are not IP addresses', () => {
    expect(guard.check('example.com').ok).toBe(false);
    expect(guard.check('0251.0376.0251.0376').ok).toBe(false);
    expect(guard.check('').ok).toBe(false);
  });

  it('exports the default deny list', () => {
    expect(DEFAULT_EGRESS_DENY).toContain('169.254.169.254');
  });
});

describe('check (custom policy)', () => {
  it('allow entries win over default and custom deny entries', () => {
    const guard = createEgressGuard({ allow: ['169.254.169.254', '10.1.0.0/16'], deny: ['10.0.0.0/8'] });
    expect(guard.check('169.254.169.254').ok).toBe(true);
    expect(guard.check('::ffff:169.254.169.254').ok).toBe(true);
    expect(guard.check('169.254.169.253').ok).toBe(false);
    expect(guard.check('10.1.2.3').ok).toBe(true);
    expect(guard.check('10.2.0.1').ok).toBe(false);
  });

  it('custom deny adds to the defaults', () => {
    const guard = createEgressGuard({ deny: ['192.168.0.0/16', '2001:db8::/32'] });
    expect(guard.check('192.168.7.7').ok).toBe(false);
    expect(guard.check('::ffff:192.168.7.7').ok).toBe(false);
    expect(guard.check('2001:db8:1::1').ok).toBe(false);
    expect(guard.check('2001:db9::1').ok).toBe(true);
    expect(guard.check('192.169.0.1').ok).toBe(true);
    expect(guard.check('169.254.169.254').ok).toBe(false);
  });

  it('deny-all with an allow list', () => {
    const guard = createEgressGuard({ deny: ['0.0.0.0/0', '::/0'], allow: ['127.0.0.0/8', '::1'] });
    expect(guard.check('127.0.0.1').ok).toBe(true);
    expect(guard.check('::1').ok).toBe(true);
    expect(guard.check('::ffff:127.0.0.1').ok).toBe(true);
    expect(guard.check('8.8.8.8').ok).toBe(false);
    expect(guard.check('::ffff:8.8.8.8').ok).toBe(false);
    expect(guard.check('2001:4860::1').ok).toBe(false);
  });

  it('accepts IPv4-mapped entries as their IPv4 equivalent', () => {
    const guard = createEgressGuard({ deny: ['::ffff:10.0.0.0/104'] });
    expect(guard.check('10.9.9.9').ok).toBe(false);
    expect(guard.check('11.0.0.1').ok).toBe(true);
  });

  it('throws on a bad policy entry', () => {
    expect(() => createEgressGuard({ deny: ['10.0.0.0/33'] })).toThrow(/10\.0\.0\.0\/33/);
    expect(() => createEgressGuard({ allow: ['localhost'] })).toThrow();
  });
});

describe('checkHost', () => {
  const guard = createEgressGuard();
  it('checks IP literals and lets names through to lookup', () => {
    expect(guard.checkHost('169.254.169.254').ok).toBe(false);
    expect(guard.checkHost('[::ffff:169.254.169.254]').ok).toBe(false);
    expect(guard.checkHost('[fe80::1%25eth0]').ok).toBe(false); // zone id (URL-encoded) ignored
    expect(guard.checkHost('[::1]').ok).toBe(true);
    expect(guard.checkHost('hook.example').ok).toBe(true);
  });
});

describe('parseCidrList', () => {
  it('splits, trims and validates', () => {
    expect(parseCidrList(' 10.0.0.0/8, 169.254.169.254 ,fd00::/8,,::1 ')).toEqual([
      '10.0.0.0/8',
      '169.254.169.254',
      'fd00::/8',
      '::1',
    ]);
    expect(parseCidrList('')).toEqual([]);
    expect(parseCidrList('0.0.0.0/0,::/0')).toEqual(['0.0.0.0/0', '::/0']);
  });

  it.each([
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '10.0.0.0/-1',
    '10.0.0.0/ab',
    '300.1.1.1',
    '10.0.0',
    'example.com',
    '10.0.0.1, nope',
    'fe80::1%eth0',
  ])('rejects %j', (s) => {
    expect(() => parseCidrList(s)).toThrow();
  });
});

describe('lookup', () => {
  const guard = createEgressGuard();

  it('resolves localhost (single and all)', async () => {
    const one = await resolve(guard.lookup, 'localhost');
    expect(one.err).toBeNull();
    expect(['127.0.0.1', '::1']).toContain(one.address);
    expect([4, 6]).toContain(one.family);
    const all = await resolve(guard.lookup, 'localhost', { all: true });
    expect(all.err).toBeNull();
    expect(Array.isArray(all.address) && all.address.length).toBeGreaterThan(0);
    const v4 = await resolve(guard.lookup, 'localhost', { family: 4 });
    expect(v4).toMatchObject({ err: null, address: '127.0.0.1', family: 4 });
  });

  it('refuses a denied address, in both callback shapes', async () => {
    for (const host of ['169.254.169.254', '::ffff:169.254.169.254', 'fd00:ec2::254']) {
      const one = await resolve(guard.lookup, host);
      expect(one.err?.code).toBe('EGRESS_DENIED');
      expect(one.err?.message).toContain(host);
      const all = await resolve(guard.lookup, host, { all: true });
      expect(all.err?.code).toBe('EGRESS_DENIED');
    }
  });

  it('refuses a name whose resolution includes a denied address', async () => {
    const strict = createEgressGuard({ deny: ['127.0.0.0/8', '::1'] });
    const one = await resolve(strict.lookup, 'localhost');
    expect(one.err?.code).toBe('EGRESS_DENIED');
    expect(one.err?.message).toContain('localhost');
    const all = await resolve(strict.lookup, 'localhost', { all: true });
    expect(all.err?.code).toBe('EGRESS_DENIED');
  });

  it('passes resolver errors through', async () => {
    const r = await resolve(guard.lookup, 'does-not-exist.invalid', { all: true });
    expect(r.err).not.toBeNull();
    expect(r.err?.code).not.toBe('EGRESS_DENIED');
  });
});
