/**
 * Group commit: publishes that arrive while a commit is being prepared or is in flight are merged into
 * the next single transaction. Each caller's promise settles when the transaction holding its rows does.
 */
export class GroupCommit<T> {
  private pending: { rows: T[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private active = 0;
  private scheduled = false;

  constructor(
    private readonly commit: (rows: T[]) => Promise<void>,
    /** Upper bound of rows per transaction, so one commit never grows without end. */
    private readonly maxRows = 50_000,
    /**
     * How long the first row waits for others before a commit starts: 0 = the end of this turn of the event
     * loop (publishes: their acknowledgement waits). Settlements wait longer so one transaction carries many.
     */
    private readonly delayMs = 0,
    /**
     * Transactions in flight at once. Above 1, rows that arrive while one commits start the next instead of
     * waiting for it (a database over the network; a synchronous one never overlaps).
     */
    private readonly parallel = 1,
  ) {}

  add(rows: T[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ rows, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.scheduled || this.active >= this.parallel || this.pending.length === 0) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      void this.drain();
    };
    // setImmediate lets requests already parsed in this turn of the event loop join the batch.
    if (this.delayMs > 0) setTimeout(go, this.delayMs);
    else setImmediate(go);
  }

  private async drain(): Promise<void> {
    this.active++;
    try {
      while (this.pending.length > 0) {
        let n = 0;
        let take = 0;
        while (
          take < this.pending.length &&
          (take === 0 || n + this.pending[take]!.rows.length <= this.maxRows)
        ) {
          n += this.pending[take++]!.rows.length;
        }
        const group = this.pending.splice(0, take);
        try {
          const done = this.commit(group.length === 1 ? group[0]!.rows : group.flatMap((g) => g.rows));
          this.kick(); // rows arriving during this commit may start another one (parallel > 1)
          await done;
          for (const g of group) g.resolve();
        } catch (err) {
          for (const g of group) g.reject(err);
        }
      }
    } finally {
      this.active--;
      this.kick();
    }
  }
}
