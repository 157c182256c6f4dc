/**
 * String-level clean-up of an extracted answer before it is parsed: delimiters, sizing and
 * spacing commands, `\text{…}` and units, degrees, currency, percent signs, thousands
 * separators, trailing punctuation. Every rule here exists because a right answer was
 * once rejected (or a wrong one accepted) for lack of it; each regex is linear (no nested
 * quantifiers), and the input is capped before it gets here.
 *
 * @module
 */

import { lastBoxed } from "./boxed.ts";

/** The cleaned answer plus what was stripped that still matters for comparison. */
export interface Normalized {
  text: string;
  /** A percent sign or word was removed: `50\%` may mean 50 or 0.5. */
  percent: boolean;
  /** A degree sign was removed: `30^\circ` also equals `\frac{\pi}{6}`. */
  degrees?: boolean;
}

const TRIG = /(?<![A-Za-z])\\?(?:sin|cos|tan|cot|sec|csc)(?![A-Za-z])/;

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
  // Markdown emphasis around a whole answer (`**73**`) is formatting, not mathematics.
  let s = stripDelimiters(raw.trim().replace(/^\*\*([^*]+)\*\*$|^__([^_]+)__$/, "$1$2"));
  const boxed = /^\\(?:boxed|fbox)\s*\{/.test(s) ? lastBoxed(s) : null;
  if (boxed !== null) s = stripDelimiters(boxed);
  // A math delimiter inside an answer is debris of a box split across math segments
  // (`\(\boxed{7\)}`): math cannot contain one, so it separates nothing.
  s = s.replace(/(?<!\\)\\[()[\]]/g, " ");
  // Doubly escaped commands from JSON-in-JSON data: `\\frac` means `\frac`, and in such
  // a string a doubled row break `\\\\` means `\\`.
  if (/(?<!\\)\\\\(?:begin|frac|sqrt|left|text)(?![A-Za-z])/.test(s)) {
    s = s.replace(/(?<!\\)\\\\\\\\(?!\\)/g, "\\\\");
  }
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

  s = clockTime(s.trim()) ?? s;
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

  // Degrees, currency and percent. Inside trigonometry a degree sign is a unit that
  // converts (`\sin 30^\circ` is 1/2), so it stays as `°` for the parser; elsewhere the
  // sign goes and the number is compared as written (`30^\circ` = 30).
  const degree = /\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree(?![A-Za-z])/g;
  let degrees = false;
  s = s.replace(degree, () => {
    degrees = true;
    return TRIG.test(s) ? "°" : "";
  });
  s = s.replace(/\\\$|\$|€|£|¥|\\euro(?![A-Za-z])|\\pounds(?![A-Za-z])|\bUSD\b/g, "");
  let percent = false;
  s = s.replace(/\\mathbb\s*\{?\s*R\s*\}?|\\R(?![A-Za-z])/g, "(-\\infty,\\infty)");
  s = s.replace(/\\%|%|\s*\b(?:percent(?:age)?|pct)\b/g, () => {
    percent = true;
    return "";
  });

  s = s.replace(/\s+/g, " ").trim();
  for (let i = 0; i < 3; i++) {
    const before = s;
    s = s.replace(TRAILING_UNIT, "").replace(/(?:\s|\\\\|(?<!\\)\\|[.,;:])+$/, "").trim();
    if (s === before) break;
  }
  if (opts.decimalComma && /^-?\d+,\d+$/.test(s)) s = s.replace(",", ".");
  s = joinThousands(s);
  if (/^-?\d{1,3}(?: \d{3})+(?:\.\d+)?$/.test(s)) s = s.replace(/ /g, "");
  s = repeatingDecimals(s);
  s = numberWord(s) ?? s;
  return { text: s, percent, degrees };
}

/**
 * `0.\overline{3}`, `0.1\overline{6}`, `2.\overline{142857}`: a repeating decimal is the
 * fraction it denotes, written exactly (BigInt arithmetic, so long periods stay exact).
 */
function repeatingDecimals(s: string): string {
  return s.replace(
    /(-?)(\d*)\.(\d*)\\(?:overline|dot)\s*\{(\d{1,30})\}/g,
    (_m, sign: string, whole: string, fixed: string, period: string) => {
      const scale = 10n ** BigInt(fixed.length);
      const den = (10n ** BigInt(period.length) - 1n) * scale;
      const num = BigInt(whole || "0") * den + BigInt(fixed || "0") * (den / scale) +
        BigInt(period);
      return `${sign}\\frac{${num}}{${den}}`;
    },
  );
}

/**
 * A clock time with seconds or a.m./p.m. (`20:34:00`, `8:34 \text{ p.m.}`) as 24-hour
 * `H:MM`; plain `7:32` stays a ratio. Null when the answer is not such a time.
 */
function clockTime(s: string): string | null {
  const m =
    /^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:\\text\{\s*)?([AaPp])\.?\s*[Mm]\.?\s*\}?$/.exec(s) ??
      /^(\d{1,2}):(\d{2}):(00)()$/.exec(s);
  if (!m) return null;
  let h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 23 || min > 59) return null;
  const half = m[4].toLowerCase();
  if (half) {
    if (h < 1 || h > 12) return null;
    h = (h % 12) + (half === "p" ? 12 : 0);
  }
  return `${h}:${m[2]}`;
}

const SMALL_NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve " +
  "thirteen fourteen fifteen sixteen seventeen eighteen nineteen").split(" ");
const TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split(" ");

/** A whole answer that is a number word up to ninety-nine (`five`, `twenty-one`), as digits. */
function numberWord(s: string): string | null {
  const m = /^(?:([a-z]+)[- ])?([a-z]+)$/.exec(s.toLowerCase());
  if (!m) return null;
  const [_, tens, unit] = m;
  const u = SMALL_NUMBERS.indexOf(unit);
  const t = TENS.indexOf(unit);
  if (!tens) return u >= 0 ? String(u) : t >= 0 ? String(20 + 10 * t) : null;
  const tt = TENS.indexOf(tens);
  return tt >= 0 && u >= 1 && u <= 9 ? String(20 + 10 * tt + u) : null;
}
