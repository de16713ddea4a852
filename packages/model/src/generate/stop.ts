/**
 * Stop sequences over streamed text: text is released only once no stop sequence can begin in it, so
 * a caller never sees the start of a stop sequence that later completes; the stop sequence itself is
 * never released.
 */
export class StopMatcher {
  private held = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Adds streamed text → the text now safe to release, and whether a stop sequence completed. */
  push(text: string): { text: string; stopped: boolean } {
    this.held += text;
    let first = -1;
    for (const s of this.stops) {
      const i = this.held.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    if (first >= 0) {
      const out = this.held.slice(0, first);
      this.held = '';
      return { text: out, stopped: true };
    }
    const keep = this.heldBack();
    const out = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return { text: out, stopped: false };
  }

  /** The rest, at the end of a generation that no stop sequence ended. */
  flush(): string {
    const out = this.held;
    this.held = '';
    return out;
  }

  /** Length of the longest suffix of the held text that is a proper prefix of a stop sequence. */
  private heldBack(): number {
    let best = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.held.length); n > best; n--) {
        if (this.held.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
