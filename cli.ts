/**
 * zerokit's single command-line entry point. Every `deno task` calls it with a subcommand:
 *
 *   deno run -A cli.ts <command> [flags]
 *
 * Each command lives in its own module that exports `main(args)`, loaded lazily so that
 * `reward` never pays for WebGPU start-up and `gpu-info` never loads the reward verifier.
 *
 * @module
 */

type CommandMain = (args: string[]) => Promise<number | void> | number | void;

const commands: Record<string, { about: string; load: () => Promise<{ main: CommandMain }> }> = {
  "gpu-info": {
    about: "print the WebGPU adapter, its limits and features",
    load: () => import("./kernels/gpu_info.ts"),
  },
  logits: {
    about: "print a checkpoint's logits for token ids as JSON (parity checks)",
    load: async () => ({ main: (await import("./models/cli.ts")).logitsMain }),
  },
  generate: {
    about: "sample a continuation from a checkpoint (--prompt or --ids)",
    load: async () => ({ main: (await import("./models/cli.ts")).generateMain }),
  },
  reward: {
    about: "score JSON Lines of responses against gold answers (--fn math|countdown|format)",
    load: () => import("./rewards/cli.ts"),
  },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.about}`);
  return ["usage: deno run -A cli.ts <command> [flags]", "", "commands:", ...rows].join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "-h" || name === "--help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const { main } = await command.load();
  const code = await main(rest);
  return typeof code === "number" ? code : 0;
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
