// A second thread for candidates.ts: it builds tables and searches batches beside the main thread, in
// the same shared memory, and posts back the pairs of the batches it searched.
import { parentPort, workerData } from "node:worker_threads";
import { buildTables, searchBatches, waitForTables, type SearchInput } from "./candidates.ts";

const input = workerData as SearchInput;
buildTables(input);
waitForTables(input);
parentPort!.postMessage(searchBatches(input));
