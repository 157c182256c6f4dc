/**
 * The error type of the data layer.
 *
 * @module
 */

/**
 * A problem with a data file, in one line that names the file and where in it:
 * `path:LINE: ...` for JSONL, `path: record N: ...` for a JSON array, `path: ...` for the
 * file as a whole. One line, so it reads well in a log and greps well.
 */
export class DataError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, " "));
    this.name = "DataError";
  }
}
