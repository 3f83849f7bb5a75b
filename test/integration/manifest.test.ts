import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteRecord, listRecords, patchRecord, readRecord, updateRecord } from "../../shared/io/manifest.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

describe("manifest (against the folder store)", () => {
  let stack: TestStack;
  beforeAll(async () => void (stack = await startTestStack()));
  afterAll(() => stack.stop());

  it("writes, merges and reads back records for awkward keys", async () => {
    const key = "dir/ä b+c%#.MKV";
    await patchRecord(stack, key, { size: 10, etag: "e1", state: "probed", reason: "probed" });
    await patchRecord(stack, key, { size: 10, etag: "e1", state: "planned", decision: { action: "encode", downscale: false, mustSave: 0, reason: "not MP4" } });
    const got = (await readRecord(stack, key))!.record;
    expect(got).toMatchObject({ key, state: "planned", reason: "probed", decision: { reason: "not MP4" } });
  });

  it("drops fields of an earlier version of the object", async () => {
    await patchRecord(stack, "v.mp4", { size: 1, etag: "old", state: "failed", error: "broken" });
    await patchRecord(stack, "v.mp4", { size: 2, etag: "new", state: "probed" });
    const got = (await readRecord(stack, "v.mp4"))!.record;
    expect(got.error).toBeUndefined();
    expect(got.etag).toBe("new");
  });

  it("never loses a field when many writers update one record at once", async () => {
    await patchRecord(stack, "race.mp4", { size: 5, etag: "e", state: "probed" });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        updateRecord(stack, "race.mp4", (cur) => ({ ...cur!, reason: `${cur!.reason ?? ""}${i},` })),
      ),
    );
    const reason = (await readRecord(stack, "race.mp4"))!.record.reason!;
    expect(reason.split(",").filter(Boolean).map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("lists records by prefix and forgets deleted ones", async () => {
    for (const k of ["p/1.mp4", "p/2.mp4", "q/3.mp4"]) await patchRecord(stack, k, { size: 1, etag: "e", state: "probed" });
    const keys = async (prefix: string) => (await Array.fromAsync(listRecords(stack, prefix))).map((r) => r.key).sort();
    expect(await keys("p/")).toEqual(["p/1.mp4", "p/2.mp4"]);
    await deleteRecord(stack, "p/1.mp4");
    expect(await keys("p/")).toEqual(["p/2.mp4"]);
    expect(await readRecord(stack, "p/1.mp4")).toBeUndefined();
  });
});
