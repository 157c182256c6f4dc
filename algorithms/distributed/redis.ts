/**
 * A Redis connection for the learner and workers (npm `ioredis`). Commands queued while the
 * server is away (a restart) are sent again once it is back, for up to `giveUpMs`; then
 * every waiting command fails with one line naming the URL.
 *
 * @module
 */
import { Redis } from "ioredis";

export type { Redis };

export interface ConnectOptions {
  /** Stop reconnecting after this long without a connection (default 120 s). */
  giveUpMs?: number;
}

/** Connect to `url` (redis://HOST:PORT[/DB]); throws one line when it cannot be reached. */
export async function connectRedis(url: string, opts: ConnectOptions = {}): Promise<Redis> {
  const giveUpMs = opts.giveUpMs ?? 120_000;
  let downSince: number | null = null;
  const redis = new Redis(url, {
    lazyConnect: true,
    // Retry queued commands across reconnects (a restarted server) instead of failing them.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: () => {
      downSince ??= Date.now();
      return Date.now() - downSince > giveUpMs ? null : 200;
    },
  });
  redis.on("ready", () => (downSince = null));
  // Errors surface through the commands that fail; without a listener ioredis logs them.
  redis.on("error", () => {});
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${url}: ${(e as Error).message.split("\n")[0]}`);
  }
  return redis;
}

/** Create the workers' consumer group on `stream` (and the stream) unless it exists. */
export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup("CREATE", stream, group, "0", "MKSTREAM");
  } catch (e) {
    if (!String((e as Error).message).includes("BUSYGROUP")) throw e;
  }
}
