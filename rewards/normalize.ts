/**
 * String-level clean-up of an extracted answer before it is parsed: delimiters, sizing and
 * spacing commands, `\text{…}` and units, degrees, currency, percent signs, thousands
 * separators, trailing punctuation. Every rule here exists because a right answer was
 * once rejected (or a wrong one accepted) for lack of it; each regex is linear (no nested
 * quantifiers), and the input is capped before it gets here.
 *
 * @module
 */

import { findBoxes, lastBoxed, trailingRun } from "./boxed.ts";

/** The cleaned answer plus what was stripped that still matters for comparison. */
export interface Normalized {
  text: string;
  /** A percent sign or word was removed: `50\%` may mean 50 or 0.5. */
  percent: boolean;
}

/** Options that change how strings are read; see `options.ts` for their documentation. */
export interface NormalizeOptions {
  decimalComma: boolean;
}

const TEXT_COMMANDS =
  /\\(?:text|textbf|textit|textrm|textnormal|textsf|texttt|mbox|mathrm|mathbf|mathit|mathsf|mathtt|mathnormal|boldsymbol|bm|operatorname)\s*\{/g;

const UNIT_MARK = "\uE000"; // a private-use character: never in real answers

/** Unit words stripped from the end of a numeric answer (`125 miles`, `15 cm^2`). */
const UNITS =
  "(?:square |sq\\.? |cubic )?(?:units?|cm|mm|km|meters?|metres?|inches|inch|feet|foot|ft|yards?|yd|miles?|mph|kg|grams?|pounds?|lbs?|ounces?|oz|liters?|litres?|ml|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|dollars?|cents?|euros?|degrees?|deg|radians?|rad|percent|percentage|pct|people|students|apples|points|ways|times)";
const TRAILING_UNIT = new RegExp(`(?<=[\\d})])\\s*(?:${UNITS})(?:\\^\\{?[23]\\}?|²|³)?\\.?$`, "i");

/** Removes one layer of `$…$`, `$$…$$`, `\(…\)` or `\[…\]` wrapping the whole string. */
export function stripDelimiters(s: string): string {
  for (let i = 0; i < 4; i++) {
    const t = s.trim();
    const m = /^\$\$([\s\S]*)\$\$$/.exec(t) ?? /^\$([\s\S]*)\$$/.exec(t) ??
      /^\\\(([\s\S]*)\\\)$/.exec(t) ?? /^\\\[([\s\S]*)\\\]$/.exec(t);
    if (!m) return t;
    s = m[1];
  }
  return s.trim();
}

/**
 * The answer inside a gold string: GSM8K's `… #### 42`, a `\boxed{}` anywhere, or `$…$`.
 * Golds come from datasets, so this is lenient where extraction from responses is strict.
 */
export function goldAnswer(gold: string): string {
  const hashes = gold.lastIndexOf("####");
  if (hashes >= 0) return gold.slice(hashes + 4).trim();
  // Adjacent boxes in a gold are the parts of one answer (`\boxed{1}` and `\boxed{-2}`);
  // boxes separated by prose are a derivation's steps, of which the last is the answer.
  const boxes = findBoxes(gold);
  if (boxes.length) return trailingRun(gold, boxes).join(", ");
  // "The answer is 0.25": a gold written as a sentence states its answer at the end.
  const said = /\banswer\s*(?:is|:)\s*([^\n]{1,300}?)\s*\.?\s*$/i.exec(gold.slice(-400));
  if (said) return stripDelimiters(said[1]);
  return stripDelimiters(gold);
}

/** Replaces each `\cmd{…}` for the text commands with `f(content)`, innermost-safe. */
function mapTextGroups(s: string, f: (content: string, before: string) => string): string {
  let out = "";
  let from = 0;
  TEXT_COMMANDS.lastIndex = 0;
  for (let m = TEXT_COMMANDS.exec(s); m; m = TEXT_COMMANDS.exec(s)) {
    if (m.index < from) continue;
    const open = m.index + m[0].length - 1;
    let depth = 0;
    let end = -1;
    for (let i = open; i < s.length; i++) {
      if (s[i] === "{") depth++;
      else if (s[i] === "}" && --depth === 0) {
        end = i;
        break;
      }
    }
    if (end < 0) break;
    out += s.slice(from, m.index);
    out += f(s.slice(open + 1, end), out);
    from = end + 1;
    TEXT_COMMANDS.lastIndex = from;
  }
  return out + s.slice(from);
}

/** `1,000` and `7,425,000`, not `1,5` or `32,349,7` (lists), and not inside brackets. */
const THOUSANDS = /(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])/g;

/** Joins digit groups split by thousands separators, only outside brackets. */
function joinThousands(s: string): string {
  return s.replace(THOUSANDS, (run, at: number) => {
    let depth = 0;
    for (let i = 0; i < at; i++) {
      if ("([{".includes(s[i])) depth++;
      else if (")]}".includes(s[i])) depth = Math.max(0, depth - 1);
    }
    return depth === 0 ? run.replace(/,/g, "") : run;
  });
}

/** Cleans an answer string; see the module doc for what and why. */
export function normalizeAnswer(raw: string, opts: NormalizeOptions): Normalized {
  let s = stripDelimiters(raw);
  const boxed = /^\\(?:boxed|fbox)\s*\{/.test(s) ? lastBoxed(s) : null;
  if (boxed !== null) s = stripDelimiters(boxed);
  // Doubly escaped commands from JSON-in-JSON data: `\\frac` means `\frac`.
  s = s.replace(/(?<!\\)\\\\(?=[A-Za-z])/g, "\\");
  s = s.replace(/\\(?:displaystyle|textstyle|scriptstyle)\b/g, "")
    .replace(/\\(?:left|right)(?![A-Za-z])\.?/g, "")
    .replace(/\\[Bb]igg?[lr]?(?![A-Za-z])/g, "")
    .replace(/\\[dtc]frac(?![A-Za-z])/g, "\\frac")
    .replace(/\\[dt]binom(?![A-Za-z])/g, "\\binom")
    .replace(/\u2212/g, "-")
    .replace(/\u2264/g, "\\le ").replace(/\u2265/g, "\\ge ").replace(/\u2260/g, "\\ne ");

  // Thousands separators written with TeX spacing: `10{,}000`, `11,\! 111`, `1\,000`.
  s = s.replace(/(\d)\s*\{\s*,\s*\}\s*(?=\d{3}(?!\d))/g, "$1").replace(/\{\s*,\s*\}/g, ",")
    .replace(/(\d),\\!\s*(?=\d{3}(?!\d))/g, "$1")
    .replace(/(\d)\\[,!]\s*(?=\d{3}(?!\d))/g, "$1");
  // `\\ ` is a row break in a matrix, not the spacing command `\ `.
  // No command starts with "quad" but \quad itself, so `\quadx` is `\quad x`.
  s = s.replace(/(?<!\\)\\[,;:! ]|\\q?quad|~/g, " ");

  // Words that join or hedge must survive `\text` removal.
  s = s.replace(/\\text\s*\{\s*(or|and)\s*\}/g, " $1 ");
  const whole = /^\\(?:text|textbf|textit|textrm|textnormal|mbox|mathrm)\s*\{([^{}]*)\}$/.exec(
    s.trim(),
  );
  if (whole) s = whole[1];
  // A text group after mathematics is a unit (`5\text{ cm}`); anywhere else, its content.
  // A unit may carry a power (`\mbox{ cm}^2`), which goes with it.
  s = mapTextGroups(
    s,
    (content, before) =>
      /[\d})]\s*$/.test(before) && /^[\sA-Za-z.]*$/.test(content) ? UNIT_MARK : content,
  );
  s = s.replace(/\uE000\s*(?:\^\s*\{?\s*[23]\s*\}?)?/g, " ");

  // Degrees, currency and percent.
  s = s.replace(/\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree(?![A-Za-z])/g, "");
  s = s.replace(/\\\$|\$|€|£|¥|\\euro(?![A-Za-z])|\\pounds(?![A-Za-z])|\bUSD\b/g, "");
  let percent = false;
  s = s.replace(/\\%|%|\s*\b(?:percent(?:age)?|pct)\b/g, () => {
    percent = true;
    return "";
  });

  s = s.replace(/\s+/g, " ").trim();
  for (let i = 0; i < 3; i++) {
    const before = s;
    s = s.replace(TRAILING_UNIT, "").replace(/(?:\s|\\\\|[.,;:])+$/, "").trim();
    if (s === before) break;
  }
  if (opts.decimalComma && /^-?\d+,\d+$/.test(s)) s = s.replace(",", ".");
  s = joinThousands(s);
  if (/^-?\d{1,3}(?: \d{3})+(?:\.\d+)?$/.test(s)) s = s.replace(/ /g, "");
  return { text: s, percent };
}
