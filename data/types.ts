/**
 * The one record every data source produces: a bare problem and its reference answer.
 *
 * @module
 */

/**
 * A problem to prompt with and its reference answer.
 *
 * `question` is the bare problem text, without any prompt template (templates are applied
 * later, so one dataset serves every template); `gold` is the reference answer string a
 * reward compares against.
 */
export interface Problem {
  /** Stable and unique within one source, e.g. `test:12` (file name without extension, index). */
  id: string;
  /** The problem text, untemplated. */
  question: string;
  /** The reference answer, e.g. `18`, `\frac{14}{3}` or `C`. */
  gold: string;
  /** Whatever else the source carries (subject, level, a worked solution, ...). */
  meta?: Record<string, unknown>;
}
