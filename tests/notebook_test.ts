/**
 * notebooks/quickstart.ipynb executes headless with the Deno kernel (Debian's
 * jupyter-nbconvert + jupyter-client; `.ci/run` installs them) and no cell errors: it trains,
 * plots inline and compares two variants. The kernel is this test's Deno, declared in a
 * temporary JUPYTER_PATH, so nothing outside the temporary folder is touched. Ignored when
 * there is no `jupyter-nbconvert` (CI allows no ignored test).
 */
import { assert } from "./helpers.ts";

const nbconvert = (() => {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/jupyter-nbconvert`).isFile) return `${dir}/jupyter-nbconvert`;
    } catch { /* not here */ }
  }
  return null;
})();

const root = new URL("../", import.meta.url).pathname;

Deno.test({
  name: "the quickstart notebook executes with the Deno kernel, no cell errors, plots inline",
  ignore: nbconvert === null,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "zk-nb-" });
    await Deno.mkdir(`${tmp}/kernels/deno`, { recursive: true });
    await Deno.writeTextFile(
      `${tmp}/kernels/deno/kernel.json`,
      JSON.stringify({
        argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
        display_name: "Deno",
        language: "typescript",
      }),
    );
    // Deno's kernel sometimes publishes an output after the cell's idle status, and nbconvert
    // (which takes idle as "cell done") then drops it: seen as a missing plot or result in
    // about one full-suite run in ten, never alone. An execution missing outputs is retried
    // once; an error output or a failed execution fails at once.
    const execute = async () => {
      const out = await new Deno.Command(nbconvert!, {
        args: [
          "--to",
          "notebook",
          "--execute",
          `${root}notebooks/quickstart.ipynb`,
          "--output-dir",
          tmp,
          "--output",
          "executed.ipynb",
          "--ExecutePreprocessor.timeout=900",
          "--ExecutePreprocessor.kernel_name=deno",
        ],
        env: { JUPYTER_PATH: tmp, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, `nbconvert failed:\n${log.slice(-3000)}`);
      const nb = JSON.parse(await Deno.readTextFile(`${tmp}/executed.ipynb`));
      const outputs = nb.cells.flatMap((c: { outputs?: unknown[] }) => c.outputs ?? []) as {
        output_type: string;
        data?: Record<string, unknown>;
      }[];
      assert.equal(outputs.filter((o) => o.output_type === "error").length, 0);
      return outputs;
    };
    type Outputs = Awaited<ReturnType<typeof execute>>;
    const svgsOf = (outputs: Outputs) =>
      outputs.filter((o) => String(o.data?.["text/html"] ?? "").includes("<svg"));
    const textOf = (outputs: Outputs) =>
      outputs.map((o) => String(o.data?.["text/plain"] ?? "")).join("\n");
    const complete = (outputs: Outputs) =>
      svgsOf(outputs).length === 2 && /ORZ recipe \(reference\)/.test(textOf(outputs));
    let outputs = await execute();
    if (!complete(outputs)) {
      console.log(`outputs missing (${svgsOf(outputs).length} of 2 plots): executing once more`);
      outputs = await execute();
    }
    assert.equal(svgsOf(outputs).length, 2, "the two inline plots");
    const text = textOf(outputs);
    assert.match(text, /ORZ recipe \(reference\)/);
    assert.match(text, /gae\.lambda=0\.95/);
  },
});
