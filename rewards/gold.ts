/**
 * The answer inside a gold string. Datasets give golds as bare answers (`\frac12`, `B`), in
 * delimiters (`$…$`, `\boxed{}`), as an option with its text (`B Paris`, `(B) 12`), or as a
 * whole worked solution: GSM8K's `… #### 42`, MATH's solutions ending in `\boxed{…}`, or prose
 * with the final value in math mode. Each is reduced to the answer it states, by the same
 * rules that read a response where a rule applies to both, so that the comparison is always
 * answer against answer. Golds come from datasets, so this is lenient where extraction from
 * responses is strict (a run of boxes with a few words between is one answer).
 *
 * @module
 */

import { findBoxes, GOLD_RUN_GAP, trailingRun } from "./boxed.ts";
import { committedChoice, optionLetter } from "./choice.ts";
import { extractAnswer, PROSE } from "./extract.ts";
import { capTail, LIMITS } from "./limits.ts";
import { stripDelimiters } from "./normalize.ts";

/** Longest gold read (its tail: a solution states its answer last). */
const MAX_GOLD_CHARS = 20_000;

/** Longest gold answer parsed (a gold is trusted further than a response's 600). */
const MAX_GOLD_ANSWER_CHARS = LIMITS.maxAnswerChars * 4;

/** Golds repeat across the samples of a prompt: their answers are remembered. */
const cache = new Map<string, string>();
const CACHE_SIZE = 1024;

/** The answer a gold states; see the module doc. */
export function goldAnswer(gold: string): string {
  let answer = cache.get(gold);
  if (answer !== undefined) return answer;
  answer = reduce(capTail(gold, MAX_GOLD_CHARS));
  // `B Paris`, `(B) 12`, `D: none of the above`: an option with its text asks for the letter.
  answer = (optionLetter(answer) ?? answer).slice(0, MAX_GOLD_ANSWER_CHARS);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(gold, answer);
  return answer;
}

function reduce(gold: string): string {
  const hashes = gold.lastIndexOf("####");
  if (hashes >= 0) return gold.slice(hashes + 4).trim();
  // Adjacent boxes in a gold are the parts of one answer (`\boxed{1}` and `\boxed{-2}`);
  // boxes separated by prose are a derivation's steps, of which the last is the answer.
  const boxes = findBoxes(gold);
  if (boxes.length) return trailingRun(gold, boxes, GOLD_RUN_GAP).join(", ");
  // "The answer is 0.25": a gold written as a sentence states its answer at the end.
  const said = /\banswer\s*(?:is|:)\s*([^\n]{1,300}?)\s*\.?\s*$/i.exec(gold.slice(-400));
  if (said) return stripDelimiters(said[1]);
  const outside = outsideMath(gold);
  if (outside !== null && PROSE.test(outside)) {
    // An explanation of a multiple-choice answer states the letter it commits to.
    const c = committedChoice(gold);
    if (c && c !== "ambiguous") return c.letter;
    // A solution in prose with its values in math mode ("The discount is $25\%$ of the
    // price."): its answer is what a free-form response's would be.
    if (outside.length < gold.length) {
      const ex = extractAnswer(gold, "auto", { multipleBoxed: "last", finish: "stop" });
      // Adjacent segments (`$2$ and $-7$`) are the parts of one answer, as adjacent boxes are.
      if (ex.answer) return ex.run ? ex.run.join(", ") : ex.answer;
    }
  }
  return stripDelimiters(gold);
}

/**
 * The text outside `$…$`, `\(…\)` and `\[…\]` (indexOf loops, linear), or null when a
 * delimiter is left open: then what is math and what is prose is unknown.
 */
function outsideMath(text: string): string | null {
  const opener = /\$\$?|\\\(|\\\[/g;
  let out = "";
  let i = 0;
  for (;;) {
    opener.lastIndex = i;
    const m = opener.exec(text);
    if (!m) return out + text.slice(i);
    if (text[m.index - 1] === "\\") {
      out += text.slice(i, m.index + 1); // `\$` is a dollar sign, not math
      i = m.index + 1;
      continue;
    }
    const closer = m[0] === "\\(" ? "\\)" : m[0] === "\\[" ? "\\]" : m[0];
    let close = text.indexOf(closer, m.index + m[0].length);
    while (close > 0 && text[close - 1] === "\\" && closer[0] === "$") {
      close = text.indexOf(closer, close + 1);
    }
    if (close < 0) return null;
    out += text.slice(i, m.index) + " ";
    i = close + closer.length;
  }
}
