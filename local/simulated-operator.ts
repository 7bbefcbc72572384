import type { AlertMessage } from '../lambdas/core/anomaly.js';
import type { ApiHandler } from '../lambdas/handlers/api/http.js';

/** Who the demo's simulated on-call is, as the approve route records the decider. */
export const SIMULATED_OPERATOR = 'local:simulated-operator';

/**
 * The demo's on-call: answers every approval page by approving it through the approve route (the same handler as the
 * Lambda), after `delayMs`, so that a run of the closed loop shows one approval without a person at the keyboard.
 * `--no-auto-approve` leaves the requests to the dashboard or `npm run cli -- approve <key>`.
 */
export class SimulatedOperator {
  private readonly answers = new Set<Promise<void>>();

  constructor(
    private readonly approve: ApiHandler,
    private readonly log: (line: string) => void,
    private readonly delayMs = 2000,
  ) {}

  /** Called with every published alert: approval pages get an answer. */
  readonly onAlert = (message: AlertMessage): void => {
    if (message.attributes.decision !== 'approval-requested') return;
    const { approval } = JSON.parse(message.body) as { approval: { key: string; steps: { title: string }[] } };
    const answer = (async () => {
      await new Promise((r) => setTimeout(r, this.delayMs));
      const res = await this.approve({
        body: JSON.stringify({
          key: approval.key,
          decision: 'approve',
          reason: 'demo: the simulated on-call approves every request (--no-auto-approve to decide yourself)',
        }),
        isBase64Encoded: false,
        headers: { 'content-type': 'application/json' },
        queryStringParameters: null,
        requestContext: { identity: { caller: SIMULATED_OPERATOR, userArn: null } },
      } as never);
      this.log(
        `simulated operator: approved ${approval.key} (${approval.steps.map((s) => s.title).join('; ')}) → ` +
          `${res.statusCode}; run with --no-auto-approve to answer on the dashboard or with ` +
          `npm run cli -- approve ${approval.key} [--deny]`,
      );
    })().finally(() => this.answers.delete(answer));
    this.answers.add(answer);
  };

  /** Resolves when every answer under way has been given. */
  async drain(): Promise<void> {
    while (this.answers.size) await Promise.all([...this.answers]);
  }
}
