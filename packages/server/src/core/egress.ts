/**
 * Egress guard for webhook deliveries: subscribers choose the URLs we POST to, so without a guard anyone who can
 * create a subscription can make the server fetch cloud-metadata endpoints (SSRF). The default policy only blocks
 * link-local and metadata addresses; loopback and private ranges stay reachable because mlgrid is self-hosted and
 * its webhooks commonly live on the same host or network (tests deliver to 127.0.0.1).
 */
import dns from 'node:dns';
import { BlockList, isIP } from 'node:net';

export interface EgressPolicy {
  /** CIDRs or single addresses always allowed; they win over `deny`, to re-open part of a denied range. */
  allow: string[];
  /** CIDRs or single addresses refused, in addition to DEFAULT_EGRESS_DENY. */
  deny: string[];
}

/**
 * Always denied unless `allow` says otherwise. Sources:
 * - 169.254.0.0/16, fe80::/10: IPv4/IPv6 link-local (RFC 3927, RFC 4291); hosts the metadata services below and
 *   AWS's ECS task-metadata endpoint 169.254.170.2.
 * - 169.254.169.254: instance metadata of AWS (IMDS), Azure (IMDS), GCP (metadata.google.internal), OCI,
 *   OpenStack, DigitalOcean; listed on its own so the reason names it.
 * - fd00:ec2::254: AWS IMDS over IPv6 (Nitro instances). Inside fc00::/7, which is otherwise allowed as private.
 * - fd20:ce::254: GCP metadata server for IPv6-only instances (UNCONFIRMED; harmless to block).
 * - 100.100.100.200: Alibaba Cloud ECS metadata service (inside 100.64.0.0/10, CGNAT, otherwise allowed).
 * - 168.63.129.16: Azure WireServer / host virtual IP (platform DNS, DHCP, health probes, VM agent traffic); not
 *   metadata strictly, but an internal platform endpoint no subscriber has business reaching.
 */
export const DEFAULT_EGRESS_DENY: readonly string[] = [
  '169.254.0.0/16',
  'fe80::/10',
  '169.254.169.254',
  'fd00:ec2::254',
  'fd20:ce::254',
  '100.100.100.200',
  '168.63.129.16',
];

type Family = 'ipv4' | 'ipv6';
interface Parsed {
  address: string;
  family: Family;
  prefix?: number;
}

/** One address or CIDR → normalized parts; IPv4-mapped IPv6 entries become IPv4. Throws on bad input. */
function parseEntry(raw: string): Parsed {
  const s = raw.trim();
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const v = isIP(addr);
  if (v === 0 || addr.includes('%')) throw new Error(`invalid IP address or CIDR: '${raw}'`);
  let family: Family = v === 4 ? 'ipv4' : 'ipv6';
  let prefix: number | undefined;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    const max = family === 'ipv4' ? 32 : 128;
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new Error(`invalid CIDR prefix length: '${raw}'`);
    prefix = Number(p);
  }
  let address = addr;
  const mapped = family === 'ipv6' ? mappedIPv4(addr) : undefined;
  if (mapped !== undefined && (prefix === undefined || prefix >= 96)) {
    address = mapped;
    family = 'ipv4';
    if (prefix !== undefined) prefix -= 96;
  }
  return prefix === undefined ? { address, family } : { address, family, prefix };
}

/** Comma-separated config value → validated, trimmed entries (empty items skipped). Throws on a bad entry. */
export function parseCidrList(s: string): string[] {
  const out: string[] = [];
  for (const item of s.split(',')) {
    const t = item.trim();
    if (!t) continue;
    parseEntry(t);
    out.push(t);
  }
  return out;
}

/** The 8 16-bit groups of a valid IPv6 address (a trailing dotted quad allowed); no zone id. */
function ipv6Groups(ip: string): number[] | undefined {
  let s = ip.toLowerCase();
  const dot = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dot) {
    const [a, b, c, d] = dot.slice(1).map(Number) as [number, number, number, number];
    s = s.slice(0, dot.index) + (((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16));
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** ::ffff:a.b.c.d (either notation) → 'a.b.c.d'; anything else → undefined. */
function mappedIPv4(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  if (!g || g.length !== 8) return undefined;
  if (g.slice(0, 5).some((x) => x !== 0) || g[5] !== 0xffff) return undefined;
  const [hi, lo] = [g[6]!, g[7]!];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function blockList(entries: Iterable<string>): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const e = parseEntry(raw);
    if (e.prefix === undefined) list.addAddress(e.address, e.family);
    else list.addSubnet(e.address, e.prefix, e.family);
  }
  return list;
}

export type EgressVerdict = { ok: true } | { ok: false; reason: string };

export interface EgressGuard {
  /** Verdict for one resolved address (IPv4, IPv6, IPv4-mapped IPv6, optional zone id). */
  check(ip: string): EgressVerdict;
  /**
   * Verdict for a URL host: IP literals (with or without [brackets]) are checked, names pass (lookup checks
   * them). Needed because node:net does not call `lookup` for IP-literal hosts.
   */
  checkHost(host: string): EgressVerdict;
  /**
   * dns.lookup-compatible; for undici's `new Agent({ connect: { lookup } })`. Resolves all addresses and fails
   * with code 'EGRESS_DENIED' if ANY of them is denied — stricter than checking only the address the socket will
   * pick, so mixed answers (a public and a metadata address) can't be raced through happy-eyeballs fallback.
   */
  lookup: typeof dns.lookup;
}

export function createEgressGuard(policy?: Partial<EgressPolicy>): EgressGuard {
  const allow = blockList(policy?.allow ?? []);
  const deny = blockList([...DEFAULT_EGRESS_DENY, ...(policy?.deny ?? [])]);

  function check(ip: string): EgressVerdict {
    const bare = ip.replace(/%.*$/, ''); // zone id (fe80::1%eth0) is irrelevant to policy
    const v = isIP(bare);
    if (v === 0) return { ok: false, reason: `'${ip}' is not an IP address` };
    // Judge a mapped address as the IPv4 address it reaches, whatever BlockList's own mapping support.
    const v4 = v === 6 ? mappedIPv4(bare) : undefined;
    const [addr, family]: [string, Family] = v4 ? [v4, 'ipv4'] : [bare, v === 4 ? 'ipv4' : 'ipv6'];
    if (allow.check(addr, family)) return { ok: true };
    if (deny.check(addr, family)) return { ok: false, reason: `egress to ${ip} is denied by policy` };
    return { ok: true };
  }

  function checkHost(host: string): EgressVerdict {
    const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    return isIP(h.replace(/%.*$/, '')) ? check(h) : { ok: true };
  }

  type Addr = dns.LookupAddress;
  function lookup(
    hostname: string,
    options: number | dns.LookupOptions | ((...args: never[]) => void),
    callback?: (err: NodeJS.ErrnoException | null, address: string | Addr[], family?: number) => void,
  ): void {
    let cb = callback;
    let opts: dns.LookupOptions = {};
    if (typeof options === 'function') cb = options as typeof callback;
    else if (typeof options === 'number') opts = { family: options };
    else if (options) opts = options;
    const done = cb!;
    dns.lookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return done(err, opts.all ? [] : '', undefined);
      for (const a of addresses) {
        const v = check(a.address);
        if (!v.ok) {
          const e: NodeJS.ErrnoException & { hostname?: string; address?: string } = new Error(
            `${v.reason} (resolved from '${hostname}')`,
          );
          e.code = 'EGRESS_DENIED';
          e.hostname = hostname;
          e.address = a.address;
          return done(e, opts.all ? [] : '', undefined);
        }
      }
      if (opts.all) return done(null, addresses);
      const first = addresses[0];
      if (!first) {
        const e: NodeJS.ErrnoException = new Error(`no address for '${hostname}'`);
        e.code = 'ENOTFOUND';
        return done(e, '', undefined);
      }
      done(null, first.address, first.family);
    });
  }

  return { check, checkHost, lookup: lookup as unknown as typeof dns.lookup };
}
