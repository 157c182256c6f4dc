/**
 * The extraction layer: from a whole response to the answer string it commits to.
 *
 * - `orz`: ORZ's rule. The last `\boxed{…}` inside the last `<answer> … </answer>` block;
 *   anything outside the tags, tags without a box, or a block never closed is no answer.
 * - `boxed`: the last `\boxed{…}` / `\fbox{…}` anywhere.
 * - `answer`: the whole content of the last `<answer> … </answer>` block, box or not (for
 *   synthetic tasks whose answers are bare tokens); nothing outside the tags counts.
 * - `auto`: for free-form responses (evaluation, auditing): boxed (a last box split across
 *   math delimiters repaired), then, against a choice gold, the letter the prose commits to
 *   (`choice.ts`), then answer tags, "the answer is …", GSM8K's `#### N`, an `A: N` line, the
 *   last `$…$` / `\(…\)` / `\[…\]`, then the last number standing alone.
 *
 * Every scan is linear in the response, which is capped (its tail kept) beforehand.
 *
 * @module
 */

import { type Box, findBoxes, trailingRun } from "./boxed.ts";
import { committedChoice } from "./choice.ts";
import { capTail } from "./limits.ts";
import { normalizeAnswer } from "./normalize.ts";

/** Extraction modes; see the module doc. */
export type ExtractMode = "orz" | "boxed" | "answer" | "auto";

/** What was extracted, and by which rule (or why nothing was). */
export interface Extraction {
  answer: string | null;
  method: string;
  /**
   * When the last box ends a run of adjacent boxes (`\boxed{1}, \boxed{2}` or
   * `\boxed{a} \quad\text{and}\quad \boxed{b}`), their contents in order. The math reward
   * reads such a run as one list answer when the gold is a list of that many items.
   */
  run?: string[];
}

/** How extraction treats several boxes and unclosed tags. */
export interface ExtractOptions {
  multipleBoxed: "last" | "agree" | "join";
  /** Why generation stopped: an unclosed final `<answer>` never counts without a stop. */
  finish?: string;
  /**
   * `orz` mode, a final `<answer>` never closed: `reject` (the default, ORZ's regex) gives no
   * answer; `stop` reads it when `finish` is `"stop"`.
   */
  unclosedAnswer?: "reject" | "stop";
  /**
   * The gold is a multiple-choice letter: `auto` mode reads the choice the prose commits to
   * (`choice.ts`) before the other free-form rules.
   */
  choice?: boolean;
}

const NONE = (method: string): Extraction => ({ answer: null, method });

/** Picks the answer among several boxes according to the `multipleBoxed` policy. */
function fromBoxes(
  text: string,
  boxes: Box[],
  policy: ExtractOptions["multipleBoxed"],
): Extraction {
  if (boxes.length === 0) return NONE("no \\boxed{}");
  const contents = boxes.map((b) => b.content);
  const last = contents[contents.length - 1];
  if (contents.length === 1) return { answer: last, method: "\\boxed{}" };
  if (policy === "last") {
    const run = trailingRun(text, boxes);
    return { answer: last, method: "last \\boxed{}", ...(run.length > 1 ? { run } : {}) };
  }
  if (policy === "join") {
    return { answer: contents.join(", "), method: `${contents.length} \\boxed{} joined` };
  }
  const key = (s: string) => normalizeAnswer(s, { decimalComma: false }).text.replace(/\s/g, "");
  const agreed = contents.every((c) => key(c) === key(last));
  return agreed
    ? { answer: last, method: "all \\boxed{} agree" }
    : NONE("\\boxed{} answers disagree");
}

/** The content of the last `<answer>` block, or null when there is none (or it is unclosed). */
export function answerBlock(text: string, finish?: string): string | null {
  const open = text.lastIndexOf("<answer>");
  if (open < 0) return null;
  const close = text.indexOf("</answer>", open);
  if (close >= 0) return text.slice(open + 8, close);
  // A stop string `</answer>` may have been consumed by the generator: only then does an
  // unclosed final block count, so a truncated sample never gets an answer this way.
  return finish === "stop" ? text.slice(open + 8) : null;
}

/** Extracts the answer from a response under `mode`. Never throws. */
export function extractAnswer(
  response: string,
  mode: ExtractMode,
  opts: ExtractOptions,
): Extraction {
  let text = capTail(String(response ?? ""));
  if (mode === "orz") {
    // ORZ's regex needs the closing tag, and its generator keeps the stop string in the text.
    const block = answerBlock(text, opts.unclosedAnswer === "stop" ? opts.finish : undefined);
    if (block === null) return NONE("no <answer></answer> block");
    return fromBoxes(block, findBoxes(block), opts.multipleBoxed);
  }
  if (mode === "boxed") return fromBoxes(text, findBoxes(text), opts.multipleBoxed);
  if (mode === "answer") {
    const block = answerBlock(text, opts.finish)?.trim();
    if (block === undefined) return NONE("no <answer></answer> block");
    return block ? { answer: block, method: "<answer> tag" } : NONE("empty <answer> tag");
  }
  // A reasoning model answers after `</think>`; what it tried while thinking is not the answer.
  const thought = text.lastIndexOf("</think>");
  if (thought >= 0) text = text.slice(thought + 8);
  // Free-form output splits boxes across math delimiters (`$\boxed{\frac94$`): repaired here.
  const boxes = findBoxes(text, true);
  if (boxes.length) {
    // "The final answer is X" after the last box overrides it: such boxes held
    // intermediate results.
    const said = answerIsAfter(text, boxes[boxes.length - 1].end, FINAL_ANSWER_IS);
    return said ?? fromBoxes(text, boxes, opts.multipleBoxed);
  }
  if (opts.choice) {
    // Against a choice gold, the letter the prose commits to, not the last letter it names.
    const c = committedChoice(text);
    if (c === "ambiguous") return NONE("no single committed choice");
    if (c) return { answer: c.letter, method: c.how };
  }
  return freeForm(text, opts);
}

const ANSWER_IS = /(?:final answer|the answer|answer)\s*(?:is|:)\s*/gi;
const FINAL_ANSWER_IS = /final answer\s*(?:is|:)\s*/gi;
/**
 * A number standing on its own: never glued to a letter, so the digit in `qwhd7xkzpl` or
 * `3zxcv` (a word or token soup) is no answer, and `3x` is not 3.
 */
const NUMBER =
  /(?<![\p{L}\p{N}_.])-?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)(?:\s*\/\s*\d+)?(?![\p{L}\p{N}_]|\.\d)/gu;

/** The last match of a global regex (linear: one pass, remembering the last). */
function lastMatch(re: RegExp, text: string): RegExpExecArray | null {
  re.lastIndex = 0;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    last = m;
    if (m[0].length === 0) re.lastIndex++;
  }
  return last;
}

/** Index of the next `delim` at or after `from` that is not escaped by a backslash. */
function findUnescaped(text: string, delim: string, from: number): number {
  for (let at = text.indexOf(delim, from); at >= 0; at = text.indexOf(delim, at + 1)) {
    if (text[at - 1] !== "\\") return at;
  }
  return -1;
}

/**
 * The content of the last `$…$`, `$$…$$`, `\(…\)` or `\[…\]` in the text, or null. Written
 * as indexOf loops that always move forward: a lazy regex for `\(…\)` rescans the rest of
 * the text from every unclosed `\(`, which a hostile response can make quadratic.
 */
export function lastMathSegment(text: string): { content: string; end: number } | null {
  const all = mathSegments(text);
  return all.length ? all[all.length - 1] : null;
}

/** A math segment: its content, and where the whole segment (delimiters included) sits. */
export interface Segment {
  content: string;
  start: number;
  end: number;
}

/** The last few `$…$` / `\(…\)` / `\[…\]` segments of the text, in order of their ends. */
export function mathSegments(text: string, keep = 8): Segment[] {
  const found: Segment[] = [];
  // Each scan finds segments in order, so a ring of the last `keep` per scan keeps the
  // last segments overall, without allocating per segment on a hostile `$$$$…`.
  const ring = new Int32Array(3 * keep);
  let seen = 0;
  const consider = (start: number, end: number, closeLen: number) => {
    const at = 3 * (seen++ % keep);
    ring[at] = start;
    ring[at + 1] = end;
    ring[at + 2] = closeLen;
  };
  const flush = () => {
    for (let k = Math.max(0, seen - keep); k < seen; k++) {
      const at = 3 * (k % keep);
      const [start, end, closeLen] = [ring[at], ring[at + 1], ring[at + 2]];
      found.push({ content: text.slice(start, end), start: start - closeLen, end: end + closeLen });
    }
    seen = 0;
  };
  for (let i = findUnescaped(text, "$", 0); i >= 0;) {
    const delim = text[i + 1] === "$" ? "$$" : "$";
    const end = findUnescaped(text, delim, i + delim.length);
    if (end < 0) break;
    consider(i + delim.length, end, delim.length);
    i = findUnescaped(text, "$", end + delim.length);
  }
  flush();
  for (const [open, close] of [["\\(", "\\)"], ["\\[", "\\]"]]) {
    for (let i = text.indexOf(open); i >= 0;) {
      const end = text.indexOf(close, i + 2);
      if (end < 0) break;
      consider(i + 2, end, 2);
      i = text.indexOf(open, end + 2);
    }
    flush();
  }
  return found.sort((a, b) => a.end - b.end).slice(-keep);
}

/** The math inside a phrase: its last `$…$` if it has one, else the phrase. */
function mathOf(phrase: string): string {
  return lastMathSegment(phrase)?.content ?? phrase;
}

/** Prose: a word of three or more letters that is not a LaTeX command or function name. */
export const PROSE =
  /(?<![\\A-Za-z])(?!(?:sqrt|frac|sin|cos|tan|cot|sec|csc|log|exp|pi|infty|text|mbox|cdot|times|left|right|begin|end|pmatrix|bmatrix|matrix|array|cases|aligned|align|gathered|arcsin|arccos|arctan|sinh|cosh|tanh|and)\b)[A-Za-z]{3,}/;

/** The answer stated by "the answer is …" starting at or after `from`, if any. */
function answerIsAfter(text: string, from: number, pattern = ANSWER_IS): Extraction | null {
  const said = lastMatch(pattern, text);
  if (!said || said.index < from) return null;
  let phrase = text.slice(said.index + said[0].length, said.index + said[0].length + 400);
  phrase = phrase.split("\n")[0];
  // Cut at the end of the sentence, but not inside `$…$` (`$3.5$.` ends after the `$`).
  const dollar = /^\s*\$\$?[^$]*\$\$?/.exec(phrase);
  phrase = dollar ? dollar[0] : phrase.replace(/\.(?:\s.*)?$/, "");
  // "The largest $n$ is 34": the answer follows the last "is".
  const is = phrase.lastIndexOf(" is ");
  if (!dollar && is >= 0) phrase = phrase.slice(is + 4);
  // `"$12$ and $13$"`: several math segments joined by "and" / "," / "or" are one answer.
  const unquoted = phrase.trim().replace(/^["'“”]+|["'“”]+$/g, "");
  const joined = /^\$[^$]+\$(?:\s*(?:,|and|or)\s*\$[^$]+\$)+$/.test(unquoted);
  let answer = joined ? unquoted.replace(/\$/g, "").trim() : mathOf(phrase).trim();
  if (answer === phrase.trim() && PROSE.test(answer)) {
    // "Jane started growing Sphere 3 hours ago": prose with one number states that number.
    // "so our answer is correct" states nothing.
    const numbers = answer.match(NUMBER) ?? [];
    if (numbers.length !== 1) return null;
    answer = numbers[0];
  }
  return answer ? { answer, method: '"the answer is"' } : null;
}

function freeForm(text: string, opts: ExtractOptions): Extraction {
  const block = answerBlock(text, opts.finish ?? "stop");
  if (block !== null) {
    // An empty tag is an empty answer, not an invitation to hunt elsewhere in the text.
    return block.trim()
      ? { answer: block.trim(), method: "<answer> tag" }
      : NONE("empty <answer> tag");
  }
  const said = answerIsAfter(text, 0);
  if (said) return said;
  const hashes = text.lastIndexOf("####");
  if (hashes >= 0) {
    const line = text.slice(hashes + 4).split("\n")[0].trim();
    if (line) return { answer: line, method: "#### line" };
  }
  const aLine = lastMatch(/^[ \t]*A:[ \t]*(.+)$/gm, text);
  if (aLine) return { answer: mathOf(aLine[1]).trim(), method: "A: line" };
  const whole = text.trim();
  if (whole && whole.length <= 300 && !PROSE.test(whole) && !/\n\s*\n/.test(whole)) {
    // A bare expression (`\frac{10}{9}`) is its own answer; the last number would be 9.
    return { answer: whole, method: "whole response" };
  }
  const seg = lastMathSegment(text);
  const num = lastMatch(NUMBER, text);
  // Whichever comes last is the conclusion: "… $d = 90/n$ … so there are 12 sequences."
  if (seg && seg.content.trim() && !(num && num.index >= seg.end)) {
    // `$x = 2$ and $x = 3$`: like adjacent boxes, a run answers a list gold of its length.
    const run = trailingRun(text, mathSegments(text)).map((c) => c.trim());
    return {
      answer: seg.content.trim(),
      method: "last math expression",
      ...(run.length > 1 ? { run } : {}),
    };
  }
  if (num) return { answer: num[0], method: "last number" };
  // A short one-line reply with no mathematics at all (`Evelyn`) is its own answer.
  if (whole && whole.length <= 40 && !whole.includes("\n")) {
    return { answer: whole, method: "whole response" };
  }
  return NONE("no answer found");
}
