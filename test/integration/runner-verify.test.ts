import { describe, expect, it } from "vitest";
import { probeMedia } from "../../shared/media/ffprobe.ts";
import { fingerprintVideo } from "../../shared/media/fingerprint.ts";
import { pickVerifyTimes, type PassPlan } from "../../gpu-runner/encode-args.ts";
import { VerifyError, verifyOutput } from "../../gpu-runner/verify.ts";
import { makeVideo } from "../kit/fixtures.ts";

// A tagged H.264 MP4 standing in for an encoder's output, and a different picture as a "source".
const output = () => makeVideo({ ext: "mp4", vcodec: "libx264", durationSec: 4, extra: ["-metadata", "comment=compressed_h264_v4"] });
const other = () => makeVideo({ ext: "mp4", vcodec: "libx264", durationSec: 4, source: "smptehdbars" });

describe("verifyOutput decodes the encoded file itself", () => {
  it("passes an output that shows the source's frames and refuses one that shows other pictures", async () => {
    const file = await output();
    const media = await probeMedia(file, { timeoutSec: 30 });
    const own = await fingerprintVideo(file, { durationSec: media.durationSec, count: 8, timeoutSec: 30 });
    const plan = { size: { width: 320, height: 240 }, audioCodecs: [], keptSubtitles: 0, keyframeTimes: pickVerifyTimes(own) } as unknown as PassPlan;
    await expect(verifyOutput(file, { source: media, plan, sourceFingerprints: own, timeoutSec: 30 })).resolves.toMatchObject({ video: { codec: "h264" } });

    // Same sample times, other pictures.
    const wrong = (await fingerprintVideo(await other(), { durationSec: media.durationSec, count: 8, timeoutSec: 30 })).map((f, i) => ({ ...f, t: own[i].t }));
    const err = await verifyOutput(file, { source: media, plan, sourceFingerprints: wrong, timeoutSec: 30 }).catch((e) => e);
    expect(err).toBeInstanceOf(VerifyError);
    expect(err.message).toMatch(/content differs: 0 of 4 sampled frames match/);
  });
});
