/**
 * Where tests find the read-only fixtures and datasets that sit beside the checkout
 * (`../shared/`); tests that need them skip, with a message, when they are absent.
 *
 * @module
 */

/** The Hugging Face-written tiny Llama checkpoint (bf16, untied head, char tokenizer config). */
export const FIXTURE_DIR: string =
  new URL("../../shared/fixtures/tiny-llama-hf", import.meta.url).pathname;

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Whether the tiny-llama fixture is present (config, weights and tokenizer config). */
export const hasFixture: boolean = ["config.json", "model.safetensors", "tokenizer_config.json"]
  .every((f) => isFile(`${FIXTURE_DIR}/${f}`));
if (!hasFixture) console.warn(`skipping fixture tests: ${FIXTURE_DIR} not found`);
