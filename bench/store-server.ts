// A folder store in its own process, so the bench can read this process's peak RSS alone.
// Prints its port on stdout; on SIGTERM prints {"maxRssMiB": N} and exits.
import { serveFolder } from "../store/index.ts";

const server = await serveFolder({ folder: process.argv[2], bucket: "bench", port: 0 });
console.log(JSON.stringify({ port: server.port }));
process.on("SIGTERM", async () => {
  await server.stop();
  console.log(JSON.stringify({ maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  process.exit(0);
});
