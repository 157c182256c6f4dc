import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { cycles, importGraph } from "../tools/import_cycles.ts";

Deno.test("import cycles: found in a graph that has them, none in one that has not", () => {
  const g = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts", "d.ts"]],
    ["c.ts", ["a.ts"]],
    ["d.ts", ["d.ts"]],
    ["e.ts", ["a.ts"]],
  ]);
  assertEquals(cycles(g), [["d.ts"], ["a.ts", "b.ts", "c.ts"]]);
  assertEquals(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []], ["c.ts", ["a.ts", "b.ts"]]])), []);
});

Deno.test("import cycles: none among the project's modules", async () => {
  const graph = await importGraph(["mod.ts", "cli.ts", "bench/main.ts"]);
  assertEquals(graph.has("kernels/core/tensor.ts"), true); // the graph reached the core
  assertEquals(cycles(graph), []);
});
