// Lambda on the plan queue: each message is a ProbeResult; the decision table turns it into a skip or a job.
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import { ownDeadLetterQueue } from "../../shared/io/dead-letter.ts";
import { jsonLog, parseBody, processPartialBatch, type SQSHandler } from "../../shared/io/lambda-sqs.ts";
import type { Log } from "../../shared/log.ts";
import { planProbed } from "../../shared/steps/strategy.ts";
import { ProbeResult } from "../../shared/schemas.ts";

export function makeStrategyHandler(clients: () => Clients, log: Log = jsonLog): SQSHandler {
  return (event) =>
    processPartialBatch(
      event,
      async (message) => {
        const outcome = await planProbed(clients(), parseBody(ProbeResult, message.body));
        log(`strategy.${outcome.status}`, { key: outcome.key, action: outcome.decision.action, reason: outcome.decision.reason });
      },
      { concurrency: 4, deadLetter: ownDeadLetterQueue(() => clients().sqs), onFailure: (m, err) => log("strategy.error", { messageId: m.messageId, error: errorMessage(err) }) },
    );
}

let fromEnv: Clients | undefined;
export const handler = makeStrategyHandler(() => (fromEnv ??= makeClients(loadConfig())));
