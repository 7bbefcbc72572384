/** Environment variables of the report generator Lambda (set by lib/ and by the local runtime). */
export const REPORT_ENV = {
  stateTable: 'STATE_TABLE_NAME',
  reportsBucket: 'REPORTS_BUCKET',
  alertTopicArn: 'ALERT_TOPIC_ARN',
} as const;

/** The report generator's entry module (exports `handler`), from the project root. */
export const REPORT_GENERATOR_ENTRY = 'lambdas/handlers/report-generator.ts';

/** Where the operator API's report route finds the reports (set on that Lambda only). */
export const REPORT_LINKS_ENV = { reportsBucket: 'REPORTS_BUCKET' } as const;
