/**
 * Multiple choice answered in prose: which letter does a text commit to? A response that
 * explains its choice also names the options it rules out ("the answer is (B), since (A)
 * ignores friction and (D) double counts"), so the last letter seen is often a rejected one.
 * The committed choice is the one asserted:
 *
 * 1. by a commitment phrase: "the answer is X", "correct option/choice is X", "Answer: X",
 *    "I choose / pick / select / go with X", "only X", or "X is correct / the right answer";
 *    the last such phrase counts (a later one corrects an earlier one, as a later box does);
 * 2. otherwise by position: a choice written first (`(C) 42 km. The others …`) or last
 *    (`… hence **(A)**.`), which must agree when both exist.
 *
 * A letter that is ruled out ("(A) is wrong", "eliminate (B)", "rules out (C)") is never the
 * commitment by position, and an asserted group joined by "or" ("A or C") or naming several
 * letters is a hedge: no answer. Choice letters are capitals A–J; a bare capital counts only
 * inside such phrases or after "option"/"choice", so the article in "A car travels" is not a
 * choice, and a bare "I" never is (the pronoun: "the answer is I think (B)").
 *
 * Every scan is linear and windows are bounded; long texts are read at their first 1,000 and
 * last 5,000 characters, where a choice is stated.
 *
 * @module
 */

/** What a text commits to: a letter, a hedge or conflict (`"ambiguous"`), or no choice at all. */
export type ChoiceReading = { letter: string; how: string } | "ambiguous" | null;

/** One run of letters joined by commas, "and" or "or" (`(A) and (B)`), as written. */
interface Group {
  letters: string[];
  start: number;
  end: number;
  /** Joined by "or": a hedge when asserted. */
  or: boolean;
  /** Written as a choice: `(B)`, `B)`, `B.`, `B:`, or after "option(s)" / "choice(s)". */
  labelled: boolean;
  commit: boolean;
  negated: boolean;
}

const MENTION = /(?<![A-Za-z0-9_\\])\(?([A-J])\)?(?![A-Za-z0-9_'’])/g;
const JOIN = /^\s*(?:,\s*(?:and|or)\s+|,|\band\b|\bor\b|&|\/)\s*(?=\(?[A-J]\)?(?![A-Za-z0-9_]))/;
/** Before a letter: the phrase that commits to it. */
const COMMIT_BEFORE = new RegExp(
  "(?:" + [
    "(?:answer|option|choice)\\s*(?:is\\s*:?|:|=|would be|should be|must be|will be)" +
    "(?:\\s+(?:therefore|thus|clearly|then))?\\s*(?:option|choice)?",
    "(?:choose|chose|pick|picked|select|selected|go with|opt for|circle)\\s*(?:option|choice|answer)?",
    "\\bonly\\s*(?:option|choice)?",
  ].join("|") + ")\\s*$",
);
/** After a letter: it is the answer. */
const COMMIT_AFTER =
  /^\s*(?:is|must be|would be|should be)\s+(?:the\s+)?(?:correct|right|true|best|valid|answer)\b/;
/** Before a letter: it is ruled out. */
const NEG_BEFORE =
  /(?:\bnot|\bexcept|eliminate[sd]?|eliminating|rule[sd]? out|ruling out|exclude[sd]?|excluding|discard(?:s|ed)?|than|unlike|neither|nor)\s*(?:options?|choices?)?\s*$/;
/** After a letter: it is ruled out. */
const NEG_AFTER =
  /^\s*(?:(?:is|are)\s+(?:not\b|incorrect|wrong|false|invalid|impossible|too\b|ruled out|eliminated|out\b)|(?:can|could|must)\s+(?:be\s+)?(?:ruled out|eliminated|excluded|discarded)|(?:fails?|cannot|can't|does not|doesn't|do not|don't|violates?|contradicts?)\b)/;
const LABEL_BEFORE = /(?:options?|choices?|answers?)\s*$/;
/** What may stand before a leading choice, or after a trailing one. */
const LEAD = /^[\s#>*_:\-–]*$/;
const TAIL = /^[\s.!*_)\]}]*$/;

/** Formatting that wraps a letter without changing it: `**B**`, `\textbf{(B)}`, `$B$`. */
function clean(text: string): string {
  return text
    .replace(/<\/?(?:answer|think)>/g, " ")
    .replace(/\\(?:text|textbf|textrm|mathrm|mathbf|mbox)\s*\{([^{}]{0,60})\}/g, "$1")
    .replace(/\\[()[\]]|\$|\*\*|__/g, " ");
}

/** The letter groups of a text, with their contexts classified. */
function groups(t: string): Group[] {
  const out: Group[] = [];
  MENTION.lastIndex = 0;
  for (let m = MENTION.exec(t); m; m = MENTION.exec(t)) {
    // A bare `I` is the pronoun ("I think (B)"); as a choice it is written `(I)` or `I.`.
    if (m[0] === "I" && !/^[.:)]/.test(t.slice(m.index + 1, m.index + 2))) continue;
    const start = m.index;
    const letters = [m[1]];
    let paren = m[0].endsWith(")");
    let end = start + m[0].length;
    let or = false;
    // Extend over `, (B) and (C)`: one group, so one verdict applies to all of it.
    for (;;) {
      const j = JOIN.exec(t.slice(end, end + 16));
      if (!j) break;
      MENTION.lastIndex = end + j[0].length;
      const next = MENTION.exec(t);
      if (!next || next.index !== end + j[0].length) break;
      if (/or/.test(j[0])) or = true;
      letters.push(next[1]);
      paren ||= next[0].endsWith(")");
      end = next.index + next[0].length;
    }
    MENTION.lastIndex = end;
    const before = t.slice(Math.max(0, start - 60), start).toLowerCase();
    const after = t.slice(end, end + 60).toLowerCase();
    const dotted = /^[.:](?:\s|$)/.test(t.slice(end, end + 2));
    const negated = NEG_BEFORE.test(before) || NEG_AFTER.test(after);
    out.push({
      letters,
      start,
      end,
      or,
      labelled: paren || dotted || LABEL_BEFORE.test(before),
      commit: !negated && (COMMIT_BEFORE.test(before) || COMMIT_AFTER.test(after)),
      negated,
    });
  }
  return out;
}

/** A single, unhedged letter of a group, or null. */
function one(g: Group): string | null {
  return !g.or && new Set(g.letters).size === 1 ? g.letters[0] : null;
}

/** Reads the choice a text commits to; see the module doc. */
export function committedChoice(text: string): ChoiceReading {
  const t = clean(text.length > 6000 ? `${text.slice(0, 1000)}\n${text.slice(-5000)}` : text);
  const all = groups(t);
  const commits = all.filter((g) => g.commit);
  if (commits.length) {
    const letter = one(commits[commits.length - 1]);
    return letter ? { letter, how: "committed choice" } : "ambiguous";
  }
  const choices = all.filter((g) => g.labelled || g.negated);
  if (!choices.length) return null;
  const first = choices[0];
  const last = choices[choices.length - 1];
  const lead = !first.negated && first.labelled && LEAD.test(t.slice(0, first.start))
    ? first
    : null;
  const tail = !last.negated && last.labelled && TAIL.test(t.slice(last.end)) ? last : null;
  const stated = [lead, tail].filter((g): g is Group => g !== null);
  const letters = new Set(stated.map(one));
  if (stated.length === 0 || letters.size !== 1 || letters.has(null)) return "ambiguous";
  return { letter: [...letters][0]!, how: lead ? "choice stated first" : "choice stated last" };
}

/**
 * The letter of a gold written as an option with its content: `(B) 12`, `B. Paris`,
 * `B) 3/4`, `D: none of the above`, `B Paris`. Null for anything else, such as `E = mc^2`
 * or `A \cup B` (a bare letter must be followed by a word or number, not an operator) or the
 * roman numeral of `I only`.
 */
export function optionLetter(gold: string): string | null {
  const s = gold.trim();
  const marked = /^(?:\(([A-J])\)|([A-J])[.:)])\s+\S/.exec(s);
  if (marked) return marked[1] ?? marked[2];
  // Not `I`: `I only`, `I and III` are roman numerals naming statements.
  const bare = /^([A-HJ])\s+(?=[A-Za-z0-9])(?!(?:and|or|[A-Z])(?![A-Za-z0-9]))/.exec(s);
  return bare ? bare[1] : null;
}
