// `reelpress report --html` opened in headless Chromium: each group in a row, the kept file first and
// the others beside it, montages shown where the runner made one, the probe's still where not, and a
// placeholder for a record that has neither (probed before stills were kept).
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { execa } from "execa";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { patchRecord } from "../../shared/io/manifest.ts";
import { PREVIEWS_PREFIX, thumbnailKeyFor } from "../../shared/rules/naming.ts";
import { headObject } from "../../shared/io/objects.ts";
import { launchChromium, noChromium } from "../kit/browser.ts";
import { reelpress } from "../kit/cli.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

describe.skipIf(noChromium("report-html") !== undefined)("report page in headless Chromium", () => {
  let stack: TestStack;
  let dir: string;
  let browser: Browser;
  beforeAll(async () => {
    [stack, dir, browser] = await Promise.all([
      startTestStack(),
      mkdtemp(path.join(os.tmpdir(), "reelpress-html-")),
      launchChromium(),
    ]);
    // A contact sheet like the runner's: four frames tiled.
    const montage = path.join(dir, "montage.jpg");
    await execa("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=2:duration=2", "-vf", "scale=160:120,tile=2x2", "-frames:v", "1", montage]);
    const montageKey = `${PREVIEWS_PREFIX}lib/a.jpg`;
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: montageKey, Body: await readFile(montage), ContentType: "image/jpeg" }));
    // A still like the probe's: one frame, 320 wide.
    const still = path.join(dir, "still.jpg");
    await execa("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=1:duration=1", "-frames:v", "1", still]);
    const thumbnailKey = thumbnailKeyFor("lib/b.mp4");
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: thumbnailKey, Body: await readFile(still), ContentType: "image/jpeg" }));
    for (const [key, fill, picture] of [["lib/a.mp4", 1, { montageKey }], ["lib/b.mp4", 1, { thumbnailKey }], ["lib/c.mp4", 1, {}], ["other/x.mp4", 2, {}], ["other/y.mp4", 2, {}]] as const) {
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: key, Body: Buffer.alloc(fill === 1 ? 90_000 : 60_000, fill) }));
      const head = (await headObject(stack, key))!;
      await patchRecord(stack, key, { size: head.size, etag: head.etag, state: "compressed", ...picture });
    }
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("shows every group side by side with montages, sizes and reasons", async () => {
    const html = path.join(dir, "report.html");
    const r = await reelpress(["report", "--quality", "2", "--html", html], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`file://${html}`);
    await page.waitForLoadState("load");
    expect(await page.locator("section.group").count()).toBe(2);
    const first = page.locator("section.group").first();
    const cards = first.locator("figure.card");
    expect(await cards.count()).toBe(3);
    expect(await cards.nth(0).getAttribute("class")).toContain("keep");
    expect(await cards.nth(0).getAttribute("data-key")).toBe("lib/a.mp4");
    // Side by side: one row, left to right, the kept file first.
    const boxes = await Promise.all([0, 1, 2].map(async (i) => (await cards.nth(i).boundingBox())!));
    expect(new Set(boxes.map((b) => Math.round(b.y))).size).toBe(1);
    expect(boxes[0].x).toBeLessThan(boxes[1].x);
    expect(boxes[1].x).toBeLessThan(boxes[2].x);
    // The montage and the still decoded (data: URLs, so the page stands alone); the third has neither.
    const img = cards.nth(0).locator("img.montage");
    // (tsconfig has no DOM types: the element is described by the fields read.)
    const decoded = (el: unknown) => {
      const i = el as { complete: boolean; naturalWidth: number; naturalHeight: number };
      return [i.complete, i.naturalWidth, i.naturalHeight];
    };
    expect(await img.evaluate(decoded)).toEqual([true, 320, 240]);
    expect(await cards.nth(1).locator("img.montage").evaluate(decoded)).toEqual([true, 320, 240]);
    expect(await cards.nth(1).locator("img.montage").getAttribute("alt")).toBe("still of lib/b.mp4");
    expect(await cards.nth(2).locator(".montage.none").textContent()).toBe("no picture");
    expect(await cards.nth(1).locator(".reason").textContent()).toMatch(/byte-identical copy/);
    expect(await cards.nth(1).locator(".size").textContent()).toBe("87.9 KiB");
    expect(await page.locator(".summary").textContent()).toMatch(/2 group\(s\), 3 file\(s\) to remove, 234\.4 KiB to reclaim/);
    const shot = path.join(dir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    // The montage's pixels are on screen: a blank box would compress to a few hundred bytes.
    const imgShot = await img.screenshot();
    expect(imgShot.length).toBeGreaterThan(10_000);
    expect((await stat(shot)).size).toBeGreaterThan(30_000);
    await page.close();
  });
});
