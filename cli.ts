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

/** A command: what it does, its flags for `--help` (absent: it prints its own), its module. */
interface Command {
  about: string;
  flags?: string;
  load: () => Promise<{ main: CommandMain }>;
}

const commands: Record<string, Command> = {
  "gpu-info": {
    about: "print the WebGPU adapter, its limits and features",
    flags: "",
    load: () => import("./kernels/core/gpu_info.ts"),
  },
  logits: {
    about: "print a checkpoint's logits for token ids as JSON (parity checks)",
    flags: "--model DIR --ids 3,4,5",
    load: async () => ({ main: (await import("./models/cli.ts")).logitsMain }),
  },
  generate: {
    about: "sample a continuation from a checkpoint (--prompt or --ids)",
    flags:
      "--model DIR (--prompt TEXT | --ids 3,4,5) [--greedy] [--max-new-tokens 32] [--temperature 1]\n" +
      "  [--top-k 0] [--top-p 1] [--seed 0] [--json]",
    load: async () => ({ main: (await import("./models/cli.ts")).generateMain }),
  },
  train: {
    about: "RL training: --config PRESET.yaml [--set k=v …], or --resume RUN_DIR",
    flags:
      "[--config PRESET.yaml] [--set key=value …] [--quiet]   (default configs/tiny_parity_ppo.yaml)\n" +
      "  --resume RUN_DIR [--set key=value …]   continue a run from its last checkpoint\n" +
      "  every key, its default and meaning: the README's config reference",
    load: async () => ({ main: (await import("./algorithms/cli.ts")).trainMain }),
  },
  pretrain: {
    about:
      "pretrain the tiny base model on a synthetic task (--config configs/pretrain_parity.yaml)",
    flags: "[--config configs/pretrain_parity.yaml] [--set key=value …] [--quiet]",
    load: async () => ({ main: (await import("./algorithms/pretrain_cli.ts")).pretrainMain }),
  },
  ablate: {
    about:
      "run a sweep (grid × seeds) and summarise it: ablate SWEEP.yaml [--list | --index I | --report]",
    flags: "SWEEP.yaml [--list | --index I | --report] [--quiet]   (configs/ablate/*.yaml)",
    load: async () => ({ main: (await import("./algorithms/sweep_cli.ts")).ablateMain }),
  },
  worker: {
    about: "a rollout worker for distributed training: worker --redis URL --store DIR",
    load: async () => ({ main: (await import("./algorithms/distributed/worker.ts")).workerMain }),
  },
  eval: {
    about: "avg@k / pass@k of a checkpoint on datasets (--model DIR --data FILE [--k K])",
    flags: "--model DIR --data FILE [--data FILE …] [--k 1] [--greedy] [--max-new-tokens 1024]\n" +
      "  [--temperature 1] [--template full|short] [--extract orz|boxed|answer|auto] [--limit N]\n" +
      "  [--seed 0] [--batch-size 64] [--out FILE.json]",
    load: async () => ({ main: (await import("./algorithms/cli.ts")).evalMain }),
  },
  reward: {
    about: "score JSON Lines of responses against gold answers (--fn math|countdown|format)",
    load: () => import("./rewards/cli.ts"),
  },
  report: {
    about: "HTML report of a run, or a comparison of several: report RUN_DIR … [--out FILE]",
    load: () => import("./report/cli.ts"),
  },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.about}`);
  return ["usage: deno run -A cli.ts <command> [flags]", "", "commands:", ...rows].join("\n");
}

/**
 * Run one command. A user error (bad flag, config key, file or data line) is printed as one
 * line; `--debug` (anywhere on the command line) prints the stack trace too.
 */
export async function run(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  try {
    return await dispatch(argv.filter((a) => a !== "--debug"));
  } catch (e) {
    if (debug) console.error(e);
    else console.error(`error: ${oneLine(e)}`);
    return 1;
  }
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0];
}

async function dispatch(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "-h" || name === "--help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(
      `error: unknown command "${name}"; commands: ${Object.keys(commands).join(", ")} ` +
        "(deno run -A cli.ts --help lists them)",
    );
    return 2;
  }
  if (command.flags !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
    console.log(`usage: deno task ${name} ${command.flags}`.trimEnd() + `\n\n${command.about}`);
    return 0;
  }
  const { main } = await command.load();
  const code = await main(rest);
  return typeof code === "number" ? code : 0;
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
