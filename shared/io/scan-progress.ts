// The first scan's progress object (.reelpress/scan.json): one writer, the `dev` running the scan;
// `status` and the dashboard read it.
import type { Clients } from "./clients.ts";
import { putJson, readJson } from "./objects.ts";
import { SCAN_PROGRESS_KEY } from "../rules/naming.ts";
import { type ScanReport, scanReport } from "../rules/scan-progress.ts";
import { ScanProgress } from "../schemas.ts";

export async function writeScanProgress(clients: Clients, progress: ScanProgress): Promise<void> {
  await putJson(clients, SCAN_PROGRESS_KEY, ScanProgress.parse(progress));
}

/** The latest scan's report; undefined when no scan ran here, or the object is not one (anyone with the pipeline's keys may write it). */
export async function readScanReport(clients: Clients): Promise<ScanReport | undefined> {
  const progress = await readJson(clients, SCAN_PROGRESS_KEY, ScanProgress).catch((err) => {
    if (err instanceof Error && (err.name === "ZodError" || err instanceof SyntaxError)) return undefined;
    throw err;
  });
  return progress && scanReport(progress);
}

/** The status object with the scan's report beside it (`status --json`, `/api/status`), when there is one. */
export function withScan<T extends object>(summary: T, scan: ScanReport | undefined): T & { scan?: ScanReport } {
  return scan ? { ...summary, scan } : summary;
}
