/**
 * Runs each scheduled drift monitor once per period, after the period's end + latency. Every node may run a
 * scheduler over a shared store: a period is claimed by compare-and-set on the monitor document
 * (`lastScheduledPeriod`), so exactly one node runs it. Missed periods (downtime) are caught up, oldest first,
 * at most `maxCatchUp` of them. A run that fails still counts as done (its failure is the stored result).
 * The clock is injected; `tick()` is public so tests drive it without waiting through real days.
 */
import type { Logger } from 'pino';
import type { DriftMonitorService } from '../services/drift-monitors.js';

export interface DriftSchedulerConfig {
  /** How often to look for due periods. */
  intervalMs: number;
  /** Periods caught up per monitor after downtime. */
  maxCatchUp: number;
}

export const DEFAULT_DRIFT_SCHEDULER: DriftSchedulerConfig = { intervalMs: 60_000, maxCatchUp: 31 };

export class DriftScheduler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly service: DriftMonitorService,
    private readonly log: Logger,
    private readonly config: DriftSchedulerConfig = DEFAULT_DRIFT_SCHEDULER,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    const loop = () => {
      this.tick().catch((e: Error) => this.log.error({ err: e.message }, 'drift scheduler tick failed'));
    };
    loop();
    this.timer = setInterval(loop, this.config.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Runs every period due now (claimed here); returns how many this node ran. Ticks never overlap. */
  tick(): Promise<number> {
    if (this.running) return this.running;
    const p = this.runDue().finally(() => {
      if (this.running === p) this.running = undefined;
    });
    this.running = p;
    return p;
  }

  private async runDue(): Promise<number> {
    let ran = 0;
    // Each pass claims at most one period per monitor; passes repeat until nothing is due (catch-up).
    for (;;) {
      const due = await this.service.due(this.now(), this.config.maxCatchUp);
      let claimed = 0;
      for (const { rec, period } of due) {
        const mine = await this.service.claim(rec, period);
        if (!mine) continue; // another node (or a PUT) got there first; the next pass re-reads
        claimed++;
        try {
          await this.service.runScheduled(mine, period);
          ran++;
        } catch (e) {
          this.log.error({ monitor: rec.key, err: (e as Error).message }, 'scheduled drift run failed');
        }
      }
      if (claimed === 0) return ran;
    }
  }
}
