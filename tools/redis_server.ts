/**
 * A real `redis-server` for the distributed tests and bench/distributed_bench.ts: started by the test on 127.0.0.1 on a
 * free port, with append-only persistence fsynced on every write (so a kill and restart
 * keeps every acknowledged write), in a temporary folder. Tests that need it are ignored
 * when there is no `redis-server` (CI installs Debian's package; an ignored test fails CI).
 *
 * @module
 */

/** The `redis-server` binary: $REDIS_SERVER, else the one on PATH, else null. */
export const redisBinary: string | null = (() => {
  const env = Deno.env.get("REDIS_SERVER");
  if (env) return env;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/redis-server`).isFile) return `${dir}/redis-server`;
    } catch { /* not here */ }
  }
  return null;
})();

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RedisServer {
  readonly url: string;
  #child: Deno.ChildProcess | null = null;

  private constructor(readonly port: number, readonly dir: string) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(): Promise<RedisServer> {
    if (!redisBinary) throw new Error("no redis-server");
    const s = new RedisServer(freePort(), await Deno.makeTempDir({ prefix: "zk-redis-" }));
    await s.#spawn();
    return s;
  }

  async #spawn(): Promise<void> {
    this.#child = new Deno.Command(redisBinary!, {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--protected-mode",
        "no",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Up once it answers PING.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (await this.#ping()) return;
      await sleep(50);
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  async #ping(): Promise<boolean> {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
      try {
        await c.write(new TextEncoder().encode("PING\r\n"));
        const buf = new Uint8Array(64);
        const n = await c.read(buf);
        // "-LOADING" while the append-only file is replayed: not up yet.
        return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
      } finally {
        c.close();
      }
    } catch {
      return false;
    }
  }

  /** SIGKILL the server (no shutdown save: only the append-only file survives). */
  async kill(): Promise<void> {
    if (!this.#child) return;
    this.#child.kill("SIGKILL");
    await this.#child.status;
    this.#child = null;
  }

  /** Start it again on the same port and folder (it replays the append-only file). */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  async stop(): Promise<void> {
    await this.kill();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
