// What `reelpress dev` runs beside the store: event source, function host, runner.
import type { Clients } from "../shared/clients.ts";
import type { Embedded } from "../shared/embedded.ts";

export type PipelineOptions = { embedded?: Embedded; runner: boolean };
export type Pipeline = { stop(): Promise<void> };

export async function startPipeline(_clients: Clients, _opts: PipelineOptions): Promise<Pipeline> {
  const stops: Array<() => Promise<void>> = [];
  return { stop: async () => void (await Promise.all(stops.map((s) => s()))) };
}
