/** A sleep that `wake()` ends early: the loops of the dispatcher and the automation engine wait on one. */
export class Alarm {
  private ring?: () => void;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.ring = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.ring = done;
    });
  }

  /** Ends the current sleep, if any (a wake with nobody asleep is not remembered). */
  wake(): void {
    this.ring?.();
  }
}
