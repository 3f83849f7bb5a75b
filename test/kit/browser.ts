// Headless Chromium for the page tests (playwright-core drives the system's build). Where there is
// none, those tests skip and say why; CI sets REELPRESS_REQUIRE_CHROMIUM so they can never skip there.
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Why the browser tests cannot run here, or undefined when they can. */
export function noChromium(suite: string): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
  if (process.env.REELPRESS_REQUIRE_CHROMIUM) throw new Error(`${suite}: ${why}, and REELPRESS_REQUIRE_CHROMIUM is set`);
  console.warn(`${suite}: SKIPPING the headless Chromium tests: ${why}.`);
  return why;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}
