// Coalesces reloads: while one runs, any number of triggers make exactly one more after it,
// so a burst of events never stacks requests and the last state is always fetched. Pure.

export class ReloadGate {
  private running = false;
  private again = false;
  private readonly run: () => Promise<void>;

  constructor(run: () => Promise<void>) {
    this.run = run;
  }

  trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.run();
      } catch {
        // The view shows its own error; the gate goes on.
      }
    } while (this.again);
    this.running = false;
  }
}

/** True when an event of `stream` concerns a view that shows streams with these prefixes. */
export function concerns(stream: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => stream.startsWith(p));
}
