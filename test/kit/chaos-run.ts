// `npm run chaos -- --trials 100 [--seed N]`: the chaos trials at length, one line per trial, then the figures.
import { parseArgs } from "node:util";
import { chaosTable, honoursConditions, runChaos } from "./chaos.ts";
import { startTestStack } from "./stack.ts";

const { values } = parseArgs({ options: { trials: { type: "string", default: "100" }, seed: { type: "string" } } });
const trials = Number(values.trials);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(trials) || trials < 1 || !Number.isInteger(seed)) {
  console.error("Usage: npm run chaos -- [--trials N] [--seed N], with whole numbers.");
  process.exit(2);
}

const stack = await startTestStack({ REELPRESS_ENCODE_QUEUE: "chaos-encode", REELPRESS_FINGERPRINTS: "4" });
try {
  if (!(await honoursConditions(stack))) {
    console.error("The test store ignores conditional writes, so chaos would prove nothing against it.");
    process.exitCode = 1;
  } else {
    console.log(`seed ${seed} (replay: npm run chaos -- --trials ${trials} --seed ${seed})`);
    const results = await runChaos(stack, {
      seed,
      trials,
      onTrial: (r) => console.log(`trial ${r.trial}: ${r.runners} runners, ${r.kills} kill(s) (${r.killsMidJob} mid-job), ${r.duplicates} duplicates, ${r.seconds} s${r.violations.length ? `\n  ${r.violations.join("\n  ")}` : ""}`),
    });
    console.log(`\n${chaosTable(seed, results)}`);
    if (results.some((r) => r.violations.length)) process.exitCode = 1;
  }
} finally {
  await stack.stop();
}
