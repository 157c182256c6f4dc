/**
 * ORZ's prompt template, checked against the text ORZ's own code renders: the golden
 * string below is `CustomDataset.process_dialogue` from ORZ's
 * `playground/zero_setting_base.py` (commit 3fdd9a0), rendered with Jinja2 3.1.6 for the
 * question "What is $1+1$?\n" and an empty bos_token (Qwen2.5 has none).
 */
import assert from "node:assert/strict";
import { ASSISTANT_TURN, ORZ_STOP_STRINGS, orzPrompt } from "../../data/mod.ts";

const ORZ_RENDERED =
  "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. The Assistant first thinks about the reasoning process in the mind and then provides the User with the answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: You must put your answer inside <answer> </answer> tags, i.e., <answer> answer here </answer>. And your final answer will be extracted automatically by the \\boxed{} tag.\nThis is the problem:\nWhat is $1+1$?\n\nAssistant: <think>";

Deno.test("template: full is ORZ's rendered text, character for character", () => {
  assert.equal(orzPrompt("What is $1+1$?\n"), ORZ_RENDERED);
  assert.equal(orzPrompt("What is $1+1$?\n", { style: "full" }), ORZ_RENDERED);
  assert.equal(orzPrompt("q", { bos: "<s>" }), "<s>" + orzPrompt("q"));
});

Deno.test("template: both styles end with `Assistant: <think>` and keep the question verbatim", () => {
  // `$&`, `$1` and `$$` would be expanded by a String.replace-based template.
  const questions = ["parity 1 0 1", "Find $x$ if $x^2 = 4$; cost $$5, $& or $1?", "", "a\nb"];
  for (const q of questions) {
    for (const style of ["full", "short"] as const) {
      const prompt = orzPrompt(q, { style });
      assert.ok(prompt.endsWith("Assistant: <think>"), `${style}: ${JSON.stringify(prompt)}`);
      assert.ok(prompt.endsWith(ASSISTANT_TURN));
      assert.ok(prompt.includes(`User: `));
      assert.ok(prompt.includes(q + ASSISTANT_TURN), `${style} keeps ${JSON.stringify(q)}`);
    }
  }
  assert.equal(
    orzPrompt("parity 1 0 1", { style: "short" }),
    "User: parity 1 0 1\nAssistant: <think>",
  );
});

Deno.test("template: ORZ's stop strings (playground/orz_7b_ppo.py `stop`)", () => {
  assert.deepEqual([...ORZ_STOP_STRINGS], ["User:", "Human:", "Assistant:", "</answer>"]);
  assert.ok(Object.isFrozen(ORZ_STOP_STRINGS));
});
