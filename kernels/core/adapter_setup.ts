/**
 * First-run setup of a WebGPU adapter on a machine without a GPU. Deno's WebGPU reads the
 * Vulkan drivers (ICDs) once, at its first adapter request, so the check runs before that:
 * when no Vulkan ICD is installed at all on Linux, zerokit installs Mesa's CPU driver
 * (lavapipe) with apt-get if it can (root, Debian/Ubuntu), saying so; otherwise it stops
 * with the exact command. `ZEROKIT_AUTO_SETUP=0` turns the install off.
 *
 * @module
 */

const ICD_DIRS = [
  "/usr/share/vulkan/icd.d",
  "/etc/vulkan/icd.d",
  "/usr/local/share/vulkan/icd.d",
];

/** The install command that brings Mesa's Vulkan CPU driver on Debian/Ubuntu. */
export const MESA_INSTALL = "apt-get install -y mesa-vulkan-drivers";

function hasVulkanIcd(): boolean {
  if (Deno.env.get("VK_ICD_FILENAMES") || Deno.env.get("VK_DRIVER_FILES")) return true;
  for (const dir of ICD_DIRS) {
    try {
      for (const e of Deno.readDirSync(dir)) if (e.name.endsWith(".json")) return true;
    } catch { /* absent */ }
  }
  return false;
}

function canRun(cmd: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/**
 * Make sure a Vulkan driver exists before WebGPU starts (Linux + Vulkan backend only). Returns
 * without doing anything when one is installed, on other systems, or with another backend.
 */
export function ensureVulkanDriver(): void {
  if (Deno.build.os !== "linux" || Deno.env.get("DENO_WEBGPU_BACKEND") !== "vulkan") return;
  if (hasVulkanIcd()) return;
  const root = Deno.uid?.() === 0;
  const auto = Deno.env.get("ZEROKIT_AUTO_SETUP") !== "0";
  if (!auto || !root || !canRun("apt-get")) {
    const sudo = root ? "" : "sudo ";
    throw new Error(
      "no Vulkan driver is installed, so WebGPU has no adapter; on a machine without a GPU " +
        `run \`${sudo}apt-get update && ${sudo}${MESA_INSTALL}\` (Debian/Ubuntu), or install ` +
        "your GPU's Vulkan driver" + (auto ? "" : " (ZEROKIT_AUTO_SETUP=0: not installing it)"),
    );
  }
  console.error(
    "zerokit: no Vulkan driver found; installing Mesa's CPU driver (apt-get install " +
      "mesa-vulkan-drivers, about a minute; ZEROKIT_AUTO_SETUP=0 turns this off)…",
  );
  const env = { ...Deno.env.toObject(), DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "mesa-vulkan-drivers"]]) {
    const r = new Deno.Command("apt-get", { args, env, stdout: "null", stderr: "piped" })
      .outputSync();
    if (!r.success) {
      const err = new TextDecoder().decode(r.stderr).trim().split("\n").at(-1) ?? "";
      throw new Error(
        `apt-get ${args.join(" ")} failed (${err}); run \`${MESA_INSTALL}\` yourself`,
      );
    }
  }
  if (!hasVulkanIcd()) throw new Error(`${MESA_INSTALL} ran but no Vulkan driver appeared`);
  console.error("zerokit: Mesa's Vulkan driver installed.");
}
