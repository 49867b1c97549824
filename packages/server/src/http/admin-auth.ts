/** The bootstrap admin credential: only its SHA-256 is kept; it arrives as `Authorization: Bearer <key>`. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { MlgridError } from '../core/errors.js';

export const ADMIN_KEY_META = 'admin_key_sha256';

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function newAdminKey(): string {
  return `mlg_${randomBytes(32).toString('base64url')}`;
}

export class AdminAuth {
  private readonly hash: Buffer;
  constructor(hashHex: string) {
    this.hash = Buffer.from(hashHex, 'hex');
  }

  verify(key: string): boolean {
    return timingSafeEqual(Buffer.from(hashKey(key), 'hex'), this.hash);
  }

  bearer(req: FastifyRequest): string | undefined {
    const h = req.headers.authorization;
    return h && /^bearer\s+/i.test(h) ? h.replace(/^bearer\s+/i, '').trim() : undefined;
  }

  /** Throws 401 unless the request carries the admin key as a Bearer token. */
  require(req: FastifyRequest): void {
    const key = this.bearer(req);
    if (!key) {
      throw new MlgridError(
        'Unauthorized',
        'Authentication required: send the admin key as `Authorization: Bearer <key>`.',
      );
    }
    if (!this.verify(key))
      throw new MlgridError('Unauthorized', 'The bearer key is not valid for this server.');
  }
}
