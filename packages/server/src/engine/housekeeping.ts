/** Periodic upkeep: manual-validation windows, expired subscriptions, retention of events and logs. */
import type { Logger } from 'pino';
import type { EventSubscriptionService } from '../services/event-subscriptions.js';
import { MANUAL_VALIDATION_WINDOW_MS } from '../services/webhook-validation.js';
import type { Store } from '../store/types.js';

const DAY = 24 * 3600_000;

export class Housekeeping {
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly store: Store,
    private readonly subs: EventSubscriptionService,
    private readonly cfg: { timeScale: number; retentionDays: number },
    private readonly log: Logger,
  ) {}

  /** Often enough to close a (scaled) validation window on time, at most once a minute. */
  get intervalMs(): number {
    return Math.max(20, Math.min(60_000, (MANUAL_VALIDATION_WINDOW_MS * this.cfg.timeScale) / 4));
  }

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async runOnce(now = Date.now()): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.subs.expireValidations();
      await this.subs.deleteExpired();
      const purged = await this.store.purge(now - this.cfg.retentionDays * DAY);
      if (purged.events + purged.deliveries + purged.attempts > 0)
        this.log.info({ purged }, 'retention purge');
    } catch (err) {
      this.log.error({ err }, 'housekeeping failed');
    } finally {
      this.running = false;
    }
  }
}
