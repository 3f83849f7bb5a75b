// `reelpress redrive`: jobs from the encode dead-letter queue go back to the encode queue.
import { redrive } from "../../gpu-runner/redrive.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";

const command: Command = {
  summary: "Send failed jobs from the dead-letter queue back to the encode queue.",
  usage: "",
  options: {},
  examples: ["reelpress redrive", "reelpress redrive --endpoint http://127.0.0.1:4566"],
  async run(values) {
    const { moved, keys } = await redrive(clientsFrom(values));
    for (const key of keys) console.log(`  ${key}`);
    console.log(moved === 0 ? "The dead-letter queue is empty: nothing to send back." : `Sent ${moved} job${moved === 1 ? "" : "s"} back to the encode queue.`);
    return 0;
  },
};
export default command;
