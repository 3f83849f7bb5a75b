// `reelpress runner`: a worker on the encode queue, until Ctrl+C (or until the queue is drained, --once).
import { UsageError } from "../../shared/errors.ts";
import { type EncoderPreference } from "../../gpu-runner/encoder.ts";
import { runnerSettings, startRunner } from "../../gpu-runner/runner.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { logEvent } from "../output.ts";

const ENCODERS: EncoderPreference[] = ["auto", "nvenc", "x264"];

const command: Command = {
  summary: "Work the encode queue: encode with NVENC (or libx264), verify, publish.",
  usage: "[--concurrency N] [--encoder auto|nvenc|x264] [--once]",
  options: {
    concurrency: { type: "string" },
    encoder: { type: "string", default: "auto" },
    once: { type: "boolean" },
  },
  examples: [
    "reelpress runner",
    "reelpress runner --encoder x264 --concurrency 2",
    "reelpress runner --once   # exit when the queue is empty",
  ],
  async run(values) {
    const encoder = String(values.encoder) as EncoderPreference;
    if (!ENCODERS.includes(encoder)) throw new UsageError(`--encoder must be auto, nvenc or x264, not '${values.encoder}'.`);
    let concurrency: number | undefined;
    if (values.concurrency !== undefined) {
      concurrency = Number(values.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency must be a whole number from 1 to 64, not '${values.concurrency}'.`);
    }
    const settings = runnerSettings(process.env);
    const runner = await startRunner(clientsFrom(values), { encoder, concurrency, untilDrained: Boolean(values.once), settings, log: logEvent });
    // First signal: take no more jobs and hand running ones back at once; a second one exits now.
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) process.exit(130);
      logEvent("runner_stopping", { signal }, `${signal}: handing running jobs back (again to exit at once)`);
      void runner.stop();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    await runner.finished();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    logEvent("runner_stopped", { runner: runner.id });
    return 0;
  },
};
export default command;
