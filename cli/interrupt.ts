// Ctrl+C for long commands: the first one asks the work to stop cleanly, a second one exits at once.
import { yellow } from "./output.ts";

export type Interrupt = { signal: AbortSignal; dispose(): void };

/** Until dispose(), SIGINT/SIGTERM abort `signal` (after printing `what`) instead of killing the process. */
export function catchInterrupt(what: string): Interrupt {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(yellow(`\nInterrupted: ${what} (Ctrl+C again to quit at once)…\n`));
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
