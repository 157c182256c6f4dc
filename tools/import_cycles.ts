/**
 * Import cycles among the project's own modules, from `deno info --json` over the entry
 * points (default: mod.ts, cli.ts, bench/main.ts). Prints each cycle found and exits 1 if
 * there is one; `deno task check` runs it.
 *
 *   deno run -A tools/import_cycles.ts [entry.ts ...]
 *
 * A cycle is a strongly connected set of modules (Tarjan's algorithm) of more than one
 * module, or a module importing itself; type-only imports count too (they still tie the
 * files together for a reader).
 * @module
 */
import { relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const root = fromFileUrl(new URL("../", import.meta.url));

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
}

/** The project-module import graph reachable from `entries` (paths relative to the root). */
export async function importGraph(entries: string[]): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  const own = (s: string) => s.startsWith("file://") && !s.includes("/node_modules/");
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno info ${entry}: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    for (const m of info.modules) {
      if (!own(m.specifier)) continue;
      const from = relative(root, fromFileUrl(m.specifier));
      const deps = new Set(graph.get(from) ?? []);
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          if (s && own(s)) deps.add(relative(root, fromFileUrl(s)));
        }
      }
      graph.set(from, [...deps].sort());
    }
  }
  return graph;
}

/** Every cycle: the strongly connected components with a loop, each sorted. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

if (import.meta.main) {
  const entries = Deno.args.length ? Deno.args : ["mod.ts", "cli.ts", "bench/main.ts"];
  const graph = await importGraph(entries);
  const found = cycles(graph);
  for (const c of found) console.log(`import cycle: ${c.join(" ⇄ ")}`);
  console.log(`${graph.size} project modules from ${entries.join(", ")}: ${found.length} cycle(s)`);
  if (found.length) Deno.exit(1);
}
