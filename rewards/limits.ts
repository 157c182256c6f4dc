/**
 * Caps that keep every reward call bounded. Model output is untrusted: it can be a megabyte
 * long, nest braces ten thousand deep, or ask for `10^{10^{10}}`. JavaScript cannot pre-empt
 * a running function, so instead of a watchdog we bound the work up front (lengths, depth,
 * node counts) and check a deadline inside the loops that could still run long.
 *
 * @module
 */

/** Hard limits; the defaults keep a worst-case call well under 100 ms. */
export const LIMITS = {
  /** Longest response scanned for an answer; the tail is kept (answers come last). */
  maxResponseChars: 200_000,
  /** Longest extracted answer that is parsed as mathematics; longer is text only. */
  maxAnswerChars: 600,
  /** Deepest bracket nesting the expression parser follows. */
  maxDepth: 40,
  /** Most AST nodes one answer may produce. */
  maxNodes: 400,
  /** Most items in a list, set, tuple or matrix. */
  maxItems: 64,
  /** Most `\boxed` groups collected from one response. */
  maxBoxes: 64,
  /** Wall-clock budget of one `equal` call; past it, the answer is rejected. */
  budgetMs: 50,
};

/** Thrown internally when a cap is hit; always caught before leaving the module. */
export class LimitError extends Error {
  constructor(what: string) {
    super(`limit: ${what}`);
  }
}

/** A wall-clock deadline checked inside loops (cheap: `performance.now()` only). */
export class Deadline {
  readonly #end: number;
  constructor(ms: number = LIMITS.budgetMs) {
    this.#end = performance.now() + ms;
  }
  /** Throws {@link LimitError} once the budget is spent. */
  check(): void {
    if (performance.now() > this.#end) throw new LimitError("time budget");
  }
  /** Whether the budget is spent, for loops that prefer to stop quietly. */
  get expired(): boolean {
    return performance.now() > this.#end;
  }
}

/** Keeps the end of an over-long response: the answer is at the end, the preamble is not. */
export function capTail(text: string, max: number = LIMITS.maxResponseChars): string {
  return text.length > max ? text.slice(text.length - max) : text;
}
