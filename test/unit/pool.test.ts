import { describe, expect, it } from "vitest";
import { mapLimit } from "../../shared/pool.ts";

/** A call that ends when the test says so, so the order of events is the test's, not the clock's. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe("mapLimit", () => {
  it("returns results in the items' order, whatever order the calls end in", async () => {
    const gates = [gate(), gate(), gate()];
    const run = mapLimit([0, 1, 2], 3, async (n) => {
      await gates[n].opened;
      return n * 10;
    });
    for (const g of [...gates].reverse()) g.open();
    expect(await run).toEqual([0, 10, 20]);
  });

  it("never runs more than `limit` calls at once, and passes the index", async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await mapLimit(Array.from({ length: 20 }, (_, i) => i), 3, async (item, index) => {
      seen.push(index);
      expect(item).toBe(index);
      most = Math.max(most, ++running);
      await Promise.resolve();
      running--;
    });
    expect(most).toBe(3);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("starts nothing after a failure and throws the first error once the calls in flight end", async () => {
    const started: number[] = [];
    const slow = gate();
    let slowEnded = false;
    const run = mapLimit([0, 1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      if (n === 0) {
        await slow.opened;
        slowEnded = true;
      }
      if (n === 1) throw new Error("one failed");
      return n;
    });
    const settled = run.then(() => "resolved", (e: Error) => e.message);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    slow.open();
    expect(await settled).toBe("one failed");
    expect(slowEnded).toBe(true);
    expect(started).toEqual([0, 1]);
  });

  it("handles no items, and refuses a limit below 1", async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
    await expect(mapLimit([1], 0, async () => 1)).rejects.toThrow(RangeError);
  });
});
