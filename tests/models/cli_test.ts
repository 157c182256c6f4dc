import { FIXTURE_DIR, hasFixture } from "../fixtures.ts";
import { assert, assertClose } from "../helpers.ts";
import { referenceLogits } from "./reference_forward.ts";
import { loadHfConfigFile } from "../../models/hf_config.ts";
import { openSafetensors } from "../../models/safetensors.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-webgpu", `${ROOT}cli.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "deno task logits prints one row per position, matching the float64 reference",
  ignore: !hasFixture,
  fn: async () => {
    const ids = [5, 6, 14, 7];
    const r = await cli("logits", "--model", FIXTURE_DIR, "--ids", ids.join(","));
    assert.equal(r.code, 0, r.stderr);
    const { logits } = JSON.parse(r.stdout) as { logits: number[][] };
    assert.equal(logits.length, 4);
    const cfg = await loadHfConfigFile(`${FIXTURE_DIR}/config.json`);
    const st = openSafetensors(`${FIXTURE_DIR}/model.safetensors`);
    const want = referenceLogits(cfg, (n) => st.getF32(n), ids);
    assertClose(logits.flat(), want, { rtol: 1e-3, atol: 1e-5, label: "cli logits" });
  },
});

Deno.test({
  name: "deno task generate --json gives ids, text and a finish reason; bad ids are a clear error",
  ignore: !hasFixture,
  fn: async () => {
    const r = await cli(
      "generate",
      "--model",
      FIXTURE_DIR,
      "--prompt",
      "12,3:",
      "--greedy",
      "--max-new-tokens",
      "5",
      "--json",
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ids.length <= 5, true);
    assert.ok(["stop", "length"].includes(out.finish));
    assert.equal(typeof out.text, "string");
    const bad = await cli("generate", "--model", FIXTURE_DIR, "--ids", "3,99");
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--ids/);
  },
});
