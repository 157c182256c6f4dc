/**
 * What every matmul path shares: the problem description ({@link Dims}) and binding windows
 * ({@link windowOf}) over operands that may exceed the storage-binding cap.
 * @module
 */
import { gpu } from "../core/device.ts";
import type { BufferBinding } from "../core/runtime.ts";
import type { Tensor } from "../core/tensor.ts";

/** One matmul problem: C [batch, M, N] = op(A) · op(B). */
export interface Dims {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Batch strides in elements (0: broadcast). C is always contiguous [batch, M, N]. */
  sA: number;
  sB: number;
  /** B already in the texture path's Bᵀ layout (a weight textured once for a rollout). */
  bTexture?: { weight: Tensor; view: GPUTextureView; height: number };
}

/** A binding window over `t` from element `start`: its start aligned down, the rest in `off`. */
export interface Window {
  binding: BufferBinding;
  off: number;
}

/** A binding window over `t` starting at element `start`: aligned down, remainder in `off`. */
export function windowOf(t: Tensor, start: number, span: number): Window {
  const align = gpu().offsetAlignment / 4;
  const base = Math.floor(start / align) * align;
  const off = start - base;
  return { binding: t.binding(base, Math.min(off + span, t.size - base)), off };
}

/** `M×K×N` with the transposes (`nt`, `tn`, …) and the batch when > 1: a profiler label. */
export function problemLabel(d: Dims): string {
  const t = `${d.transA ? "t" : "n"}${d.transB ? "t" : "n"}`;
  return `${d.batch > 1 ? `${d.batch}×` : ""}${d.M}×${d.K}×${d.N} ${t}`;
}
