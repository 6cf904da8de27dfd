/**
 * An AbortController made only when someone asks for its signal: most permits and
 * limited calls end without anyone reading it, and making one (and aborting it, which
 * builds a DOMException) costs more than the rest of their work. An abort that comes
 * before the signal is read is kept, so a signal read afterwards is already aborted.
 */
export class LazyAbortController {
  private controller?: AbortController;
  private abortedWith?: { reason: unknown };

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedWith) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  /** Like AbortController.abort(): only the first call counts. */
  abort(reason?: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}
