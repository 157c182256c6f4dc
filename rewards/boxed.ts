/**
 * Finding `\boxed{…}` / `\fbox{…}` groups with nested braces, in one linear pass.
 *
 * Regex-based extractors get this wrong in both directions: a greedy `\\boxed{.*}` swallows
 * two boxes as one (so `\boxed{1}\boxed{2}` scores neither), a lazy one cuts `\frac{a}{b}`
 * in half. A brace counter has neither problem, and escaped braces (`\{1,2\}`, a set) are
 * skipped so they never unbalance it.
 *
 * @module
 */

import { LIMITS } from "./limits.ts";

const BOX_COMMANDS = ["\\boxed", "\\fbox"];

/**
 * For every `{`, the index just past its closing `}` (or -1 if it never closes), computed
 * in one pass with a stack. Matching each box separately would rescan the text once per
 * unclosed `\boxed{`, which a hostile response can repeat a hundred thousand times.
 * `\{` and `\}` are literal braces, not grouping.
 */
export function braceMatches(text: string): Int32Array {
  const close = new Int32Array(text.length).fill(-1);
  const stack: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) {
      i++; // skip the escaped character, whatever it is
    } else if (c === 123 /* { */) {
      stack.push(i);
    } else if (c === 125 /* } */ && stack.length) {
      close[stack.pop()!] = i + 1;
    }
  }
  return close;
}

/** Index just past the `}` closing the `{` at `open`, or -1 (for one-off use). */
export function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 123) depth++;
    else if (c === 125 && --depth === 0) return i + 1;
  }
  return -1;
}

/** One box found in a text: its content and where it sits. */
export interface Box {
  content: string;
  start: number;
  end: number;
}

/** Reads the box whose command starts at `at`, or null if it is malformed or unclosed. */
function readBox(text: string, at: number, command: string, close: Int32Array): Box | null {
  let i = at + command.length;
  // `\boxedx` is another command, not a box.
  if (/[A-Za-z]/.test(text[i] ?? "")) return null;
  while (text[i] === " ") i++;
  if (text[i] === "{") {
    const end = close[i];
    if (end < 0) return null;
    return { content: text.slice(i + 1, end - 1), start: at, end };
  }
  // `\boxed 5`: TeX takes one token; models mean "up to the closing dollar or space".
  const rest = /^[^\s$]+/.exec(text.slice(i, i + 200));
  return rest ? { content: rest[0], start: at, end: i + rest[0].length } : null;
}

/**
 * All outermost boxes, in order. A box nested inside another is part of its parent's
 * content, not a separate answer. At most {@link LIMITS.maxBoxes} are returned (the last
 * ones, since the answer comes last).
 *
 * With `repair`, a last box that never closes but whose math does (`$\boxed{\frac{9}{4}$`:
 * the brace was forgotten before the closing `$`, `\)` or `\]`) is read up to that
 * delimiter, provided its own braces balance there. Only the last box after every closed
 * one is repaired, so this never replaces a complete answer and costs one scan.
 */
export function findBoxes(text: string, repair = false): Box[] {
  const boxes: Box[] = [];
  if (!BOX_COMMANDS.some((cmd) => text.includes(cmd))) return boxes;
  const close = braceMatches(text);
  // One regex pass finds every command; boxes nested inside an accepted box are skipped.
  const commands = /\\(?:boxed|fbox)/g;
  let from = 0;
  for (let m = commands.exec(text); m; m = commands.exec(text)) {
    if (m.index < from) continue;
    const box = readBox(text, m.index, m[0], close);
    if (!box) continue;
    boxes.push(box);
    if (boxes.length > LIMITS.maxBoxes) boxes.shift();
    from = box.end;
  }
  if (repair) {
    const at = Math.max(text.lastIndexOf("\\boxed"), text.lastIndexOf("\\fbox"));
    const fixed = at >= from ? unclosedBox(text, at, close) : null;
    if (fixed) {
      boxes.push(fixed);
      if (boxes.length > LIMITS.maxBoxes) boxes.shift();
    }
  }
  return boxes;
}

/** The box at `at` read up to the math delimiter that ends it, when its brace never closes. */
function unclosedBox(text: string, at: number, close: Int32Array): Box | null {
  const open = /^\\(?:boxed|fbox)\s*\{/.exec(text.slice(at, at + 12));
  if (!open || close[at + open[0].length - 1] >= 0) return null;
  const from = at + open[0].length;
  let depth = 0;
  const end = Math.min(text.length, from + LIMITS.maxAnswerChars);
  for (let i = from; i < end; i++) {
    const c = text[i];
    if (c === "\\") {
      if (text[i + 1] === ")" || text[i + 1] === "]") {
        return depth === 0 ? { content: text.slice(from, i), start: at, end: i } : null;
      }
      i++;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth < 0) return null;
    else if (c === "$") {
      return depth === 0 ? { content: text.slice(from, i), start: at, end: i } : null;
    }
  }
  return null;
}

/** The content of the last box, or null when there is none. */
export function lastBoxed(text: string): string | null {
  const boxes = findBoxes(text);
  return boxes.length ? boxes[boxes.length - 1].content : null;
}

/**
 * What may stand between two parts of one answer: spacing, commas, "and", a short text
 * label (`\text{ for part (a) and }`), and the name of the next part (`y_1 = \boxed{…}`
 * and `y_2 = \boxed{…}`).
 */
export const RUN_GAP =
  /^(?:\s|[,;&$]|\\[,;:! ]|\\q?quad|\\text\s*\{[^{}]{0,30}\}|\\\(|\\\)|\band\b|(?<![A-Za-z])[A-Za-z](?:_\{?\w{1,3}\}?)?\s*=)*$/;

/**
 * Between the boxes of a gold (trusted, never a hedge): also up to three plain words, as in
 * `\boxed{1} papers and \boxed{2} bins`.
 */
export const GOLD_RUN_GAP = new RegExp(
  `^(?:${RUN_GAP.source.slice(1, -1)}|^\\s*(?:[A-Za-z]+[\\s,]+){1,3}$)$`,
);

/** The contents of the run of adjacent parts (boxes, math segments) ending with the last. */
export function trailingRun(
  text: string,
  parts: { content: string; start: number; end: number }[],
  gap: RegExp = RUN_GAP,
): string[] {
  let i = parts.length - 1;
  while (
    i > 0 && parts[i].start - parts[i - 1].end < 80 &&
    gap.test(text.slice(parts[i - 1].end, parts[i].start))
  ) i--;
  return parts.slice(i).map((b) => b.content);
}
