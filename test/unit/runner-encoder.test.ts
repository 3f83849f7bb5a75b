import { describe, expect, it } from "vitest";
import { classifyTestEncode, defaultConcurrency, selectEncoder, testEncodeArgs, type TestOutcome } from "../../gpu-runner/encoder.ts";
import type { EncoderKind } from "../../gpu-runner/encode-args.ts";

const NO_CUDA = "[h264_nvenc @ 0x55fa] Cannot load libcuda.so.1\nError initializing output stream 0:0 -- Error while opening encoder";
const SESSION_LIMIT = "[h264_nvenc @ 0x5] OpenEncodeSessionEx failed: out of memory (10): (no details)\n[h264_nvenc @ 0x5] No capable devices found";
const NO_DEVICE = "[h264_nvenc @ 0x5] OpenEncodeSessionEx failed: unsupported device (2): (no details)";

/** A test encode that answers from a script, one outcome per call. */
function scripted(outcomes: Partial<Record<EncoderKind, TestOutcome[]>>) {
  const calls: EncoderKind[] = [];
  const test = async (e: EncoderKind) => {
    calls.push(e);
    return outcomes[e]!.length > 1 ? outcomes[e]!.shift()! : outcomes[e]![0];
  };
  return { test, calls };
}

describe("classifyTestEncode", () => {
  it("tells a missing GPU from a busy one", () => {
    expect(classifyTestEncode(0, "")).toEqual({ status: "ok" });
    expect(classifyTestEncode(1, NO_CUDA)).toEqual({ status: "unavailable", reason: "Cannot load libcuda.so.1" });
    expect(classifyTestEncode(1, NO_DEVICE)).toMatchObject({ status: "unavailable", reason: expect.stringContaining("unsupported device") });
    expect(classifyTestEncode(1, SESSION_LIMIT).status).toBe("busy");
    expect(classifyTestEncode(1, "[h264_nvenc] session limit reached").status).toBe("busy");
  });
});

describe("selectEncoder", () => {
  it("auto falls back to libx264 and says why", async () => {
    const { test, calls } = scripted({ nvenc: [{ status: "unavailable", reason: "Cannot load libcuda.so.1" }], x264: [{ status: "ok" }] });
    const choice = await selectEncoder("auto", test, 0);
    expect(choice).toEqual({ encoder: "x264", reason: "NVENC test encode failed (Cannot load libcuda.so.1); using libx264" });
    expect(calls).toEqual(["nvenc", "x264"]);
  });
  it("auto keeps NVENC when it is only busy, after retrying", async () => {
    const { test, calls } = scripted({ nvenc: [{ status: "busy", reason: "out of memory (10)" }] });
    const choice = await selectEncoder("auto", test, 0);
    expect(choice.encoder).toBe("nvenc");
    expect(choice.reason).toMatch(/busy/);
    expect(calls).toEqual(["nvenc", "nvenc", "nvenc"]);
    const freed = scripted({ nvenc: [{ status: "busy", reason: "x" }, { status: "ok" }] });
    expect((await selectEncoder("auto", freed.test, 0)).reason).toBe("NVENC test encode succeeded");
  });
  it("--encoder nvenc without NVENC is a one-line user error; --encoder x264 never tries the GPU", async () => {
    const none = scripted({ nvenc: [{ status: "unavailable", reason: "Cannot load libcuda.so.1" }] });
    await expect(selectEncoder("nvenc", none.test, 0)).rejects.toThrow("NVENC is not usable here: Cannot load libcuda.so.1; run with --encoder x264 or auto.");
    const cpu = scripted({ x264: [{ status: "ok" }] });
    expect((await selectEncoder("x264", cpu.test, 0)).encoder).toBe("x264");
    expect(cpu.calls).toEqual(["x264"]);
  });
  it("tests the GPU path a job takes: CUDA upload, scale_cuda and the job's NVENC options", () => {
    const args = testEncodeArgs("nvenc").join(" ");
    expect(args).toContain("scale_cuda");
    expect(args).toContain("-c:v h264_nvenc");
    expect(args).toContain("-temporal-aq 1");
    expect(args).toContain("-frames:v 1");
  });
});

describe("defaultConcurrency", () => {
  it("is one per NVENC engine, capped by GeForce session limits, and 1 without NVENC", () => {
    expect(defaultConcurrency("x264", ["NVIDIA L4"])).toBe(1);
    expect(defaultConcurrency("nvenc", [])).toBe(1);
    expect(defaultConcurrency("nvenc", ["NVIDIA L4"])).toBe(2);
    expect(defaultConcurrency("nvenc", ["NVIDIA L40S", "NVIDIA L40S"])).toBe(6);
    expect(defaultConcurrency("nvenc", ["Tesla T4"])).toBe(1);
    expect(defaultConcurrency("nvenc", Array(4).fill("NVIDIA GeForce RTX 4090"))).toBe(8);
  });
});
