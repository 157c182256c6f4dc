/** `deno task gpu-info`: print the adapter zerokit runs on. @module */
import { describeGpu, initGpu } from "./device.ts";

export async function main(_args: string[]): Promise<number> {
  console.log(describeGpu(await initGpu()));
  return 0;
}
