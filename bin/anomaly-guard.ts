#!/usr/bin/env -S npx tsx
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { putRecordsReliably } from '../lambdas/adapters/stream-producer.js';
import { unauthorizedHint } from './operator-api-client.js';
import { registerUsersCommands } from './users.js';
import { localKinesisClient } from '../local/stand-ins.js';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const program = new Command()
  .name('anomaly-guard')
  .description('Real-time usage/cost anomaly detection: local runtime, replay and producer tools')
  .showHelpAfterError();

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

program
  .command('local')
  .description(
    'run the whole pipeline on embedded stand-ins of the AWS services with a simulated multi-tenant workload',
  )
  .option('--scenario <name|file.jsonl>', 'built-in scenario name or a JSONL file of envelopes', 'default')
  .option('--once', 'run the scenario to its end, write the summary and exit', false)
  .option('--out <dir>', 'where summary.json, alerts.jsonl, dead letters and reports go', '.anomaly-guard/local')
  .option('--port <n>', 'port for the local API and dashboard', positiveInt('--port'), 8787)
  .option(
    '--minutes <n>',
    'simulated minutes of the built-in scenario (its incidents start at minute 80, 120, 160, 200 and 215)',
    positiveInt('--minutes'),
    240,
  )
  .option(
    '--no-auto-approve',
    'leave steps that wait for an approval to you (dashboard, or `approve <key>`) instead of the simulated on-call',
  )
  .option(
    '--no-auth',
    'no sign-in: the dashboard and the API open to anyone on this machine (default: sign-in against a local Cognito ' +
      'stand-in with demo users viewer@example.com and operator@example.com, printed at start)',
  )
  .action(
    async (o: {
      scenario: string;
      once: boolean;
      out: string;
      port: number;
      minutes: number;
      autoApprove: boolean;
      auth: boolean;
    }) => {
      const { runLocal } = await import('../local/runtime.js');
      const summary = await runLocal({ ...o, chunk: 500, log: (l) => console.log(l) });
      process.exitCode = summary.ok ? 0 : 1;
    },
  );

program
  .command('approve')
  .description('approve (or --deny) the steps a mitigation waits on, by the key its approval page names')
  .argument('<key>', 'the approval key (rb-…-approve-soft|hard), or the episode key with one request pending')
  .option('--deny', 'deny instead of approving: nothing of it is applied', false)
  .option(
    '--reason <text>',
    'why (kept in the ledger)',
    `answered from the CLI by ${process.env.USER ?? 'an operator'}`,
  )
  .option(
    '--api <url>',
    'the operator API: the local runtime (default) or a deployment (stack output OperatorApiUrl, signed with your ' +
      'AWS credentials)',
    'http://127.0.0.1:8787',
  )
  .action(async (key: string, o: { deny: boolean; reason: string; api: string }) => {
    const { callOperatorApi } = await import('./operator-api-client.js');
    const res = await callOperatorApi(o.api, 'POST', '/v1/anomaly/approve', {
      key,
      decision: o.deny ? 'deny' : 'approve',
      reason: o.reason,
    });
    console.log(`${res.status} ${JSON.stringify(res.body, null, 2)}`);
    if (res.status === 401) console.error(unauthorizedHint(o.api));
    process.exitCode = res.status < 300 ? 0 : 1;
  });

registerUsersCommands(program);

program
  .command('produce')
  .description('put envelope records from a JSONL file on a Kinesis stream (batched, retrying only failed entries)')
  .requiredOption('--input <file.jsonl>', 'one envelope per line')
  .requiredOption('--stream <name>', 'Kinesis stream name')
  .option('--endpoint <url>', 'Kinesis endpoint (for the local stand-in); default: AWS from the environment')
  .action(async (o: { input: string; stream: string; endpoint?: string }) => {
    const { entries, skipped } = readEnvelopeLines(o.input);
    const kinesis = o.endpoint
      ? localKinesisClient(o.endpoint)
      : new KinesisClient({ requestHandler: new NodeHttpHandler() });
    const result = await putRecordsReliably(kinesis, o.stream, entries);
    console.log(
      `put ${result.sent} of ${entries.length} records on ${o.stream} in ${result.attempts} PutRecords calls` +
        (skipped ? ` (${skipped} blank lines skipped)` : ''),
    );
    for (const f of result.failed.slice(0, 10)) console.error(`failed: ${f.errorCode} ${f.errorMessage}`);
    process.exitCode = result.failed.length ? 1 : 0;
  });

program
  .command('replay')
  .description("run recorded data through the consumer's detection path in event time, as fast as the machine allows")
  .requiredOption(
    '--input <file|dir>',
    'envelopes: a JSONL file, a raw-archive object (.gz or not; newline-delimited or concatenated JSON), or a ' +
      'directory tree of them such as a downloaded raw/2026/12/05/ or <out>/archive/, read in key order; with ' +
      '--format csv a timestamp,value CSV file or directory tree',
  )
  .requiredOption('--out <dir>', 'where results go')
  .option('--format <envelope|csv>', 'input format', 'envelope')
  .action(async (o: { input: string; out: string; format: string }) => {
    if (o.format !== 'envelope' && o.format !== 'csv')
      throw new InvalidArgumentError(`--format must be envelope or csv (got ${o.format})`);
    const bar = new SingleBar(
      {
        format: ' {bar} {percentage}% | {value}/{total} {unit} | {duration_formatted}',
        stream: process.stderr,
        noTTYOutput: false,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    if (o.format === 'csv') {
      const { replayCsv } = await import('../local/replay-csv.js');
      let started = false;
      const r = await replayCsv({
        input: o.input,
        out: o.out,
        onProgress: (done, total) => {
          if (!started) bar.start(total, 0, { unit: 'files' });
          started = true;
          bar.update(done);
        },
      });
      bar.stop();
      console.log(
        `replayed ${r.rows} rows from ${r.files} files in ${(r.ms / 1000).toFixed(2)} s ` +
          `(${Math.round(r.rows / (r.ms / 1000))} rows/s); ${r.alerts} alerting rows; results in ${o.out}`,
      );
      return;
    }
    const { replayEnvelopes } = await import('../local/replay-envelopes.js');
    const r = await replayEnvelopes({
      input: o.input,
      out: o.out,
      onProgress: (n) => process.stderr.isTTY && process.stderr.write(`\r ${n} records`),
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    console.log(
      `replayed ${r.records} records over ${r.keys} keys in ${(r.ms / 1000).toFixed(2)} s: ` +
        `${r.processed} processed, ${r.deadLettered} dead-lettered, ${r.anomalies} anomaly episodes ` +
        `(${r.alerts} would page); alerts in ${o.out}/alerts.jsonl`,
    );
    if (r.deadLettered) console.log(`dead-lettered records with reasons: ${o.out}/dead-letters.jsonl`);
    if (r.precision) {
      const rows = r.precision.byTenantSignal;
      const judged = rows.reduce((n, x) => n + x.truePositive + x.falsePositive + x.expected, 0);
      const tp = rows.reduce((n, x) => n + x.truePositive, 0);
      const overall = judged ? (tp / judged).toFixed(3) : 'n/a';
      console.log(
        `precision ${overall} over ${judged} judged of ${rows.reduce((n, x) => n + x.alerts, 0)} paged episodes ` +
          `(${r.verdicts} verdict lines, ${r.precision.unmatched.length} on episodes that did not page); ` +
          `by tenant and signal in ${o.out}/precision.json`,
      );
    }
  });

program
  .command('openapi')
  .description('print the OpenAPI 3 description of the operator API, or write it to a file')
  .option('--out <file>', 'write the document to this file instead of stdout (docs/openapi.json is the committed copy)')
  .option('--server-url <url>', 'add the deployed stage URL (stack output OperatorApiUrl) as the server')
  .action(async (o: { out?: string; serverUrl?: string }) => {
    const { openApiDocument } = await import('../lambdas/core/api/openapi.js');
    const doc = openApiDocument(undefined, o.serverUrl ? { serverUrl: o.serverUrl.replace(/\/+$/, '') } : {});
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    if (!o.out) {
      process.stdout.write(text);
      return;
    }
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, text);
    console.log(`wrote ${o.out}`);
  });

program
  .command('redrive')
  .description(
    'put the records of a dead-letter queue back on the stream (messages are deleted only once their record is on it)',
  )
  .option('--queue-url <url>', 'the SQS dead-letter queue (stack outputs InvalidRecordQueueUrl, SourceFailureQueueUrl)')
  .option('--local-file <file.jsonl>', "a local run's queue file instead, e.g. .anomaly-guard/local/dead-letters.jsonl")
  .requiredOption('--stream <name>', 'Kinesis stream name (stack output StreamName)')
  .option('--endpoint <url>', 'Kinesis endpoint (for the local stand-in); default: AWS from the environment')
  .option('--max <n>', 'read at most this many messages', positiveInt('--max'))
  .option('--dry-run', 'show what is there and what would be put; put and delete nothing', false)
  .action(
    async (o: {
      queueUrl?: string;
      localFile?: string;
      stream: string;
      endpoint?: string;
      max?: number;
      dryRun: boolean;
    }) => {
      if (!o.queueUrl === !o.localFile)
        throw new InvalidArgumentError('give exactly one of --queue-url and --local-file');
      const { FileDeadLetterSource, SqsDeadLetterSource, redriveDeadLetters } = await import(
        '../lambdas/adapters/dead-letter-source.js'
      );
      const { SQSClient } = await import('@aws-sdk/client-sqs');
      const source = o.queueUrl
        ? new SqsDeadLetterSource(new SQSClient({ requestHandler: new NodeHttpHandler() }), o.queueUrl)
        : new FileDeadLetterSource(o.localFile!);
      const kinesis = o.endpoint
        ? localKinesisClient(o.endpoint)
        : new KinesisClient({ requestHandler: new NodeHttpHandler() });
      const r = await redriveDeadLetters(source, kinesis, o.stream, {
        dryRun: o.dryRun,
        ...(o.max !== undefined && { max: o.max }),
      });
      console.log(
        `${source.name}: ${r.read} messages read; ` +
          `${r.redriven} records ${o.dryRun ? 'would be put back on' : 'put back on'} ${o.stream}`,
      );
      for (const [reason, n] of r.byReason) console.log(`  ${n} × ${reason}`);
      const left = new Map<string, { n: number; nextStep: string }>();
      for (const l of r.left) left.set(l.what, { n: (left.get(l.what)?.n ?? 0) + 1, nextStep: l.nextStep });
      for (const [what, l] of left) console.log(`left in place: ${l.n} × ${what}\n  next step: ${l.nextStep}`);
      for (const f of r.failed.slice(0, 10)) console.error(`not redriven (message ${f.id} stays): ${f.error}`);
      process.exitCode = r.failed.length ? 1 : 0;
    },
  );

const mitigationControl = program
  .command('mitigation')
  .description('the global kill switch of automatic mitigation (the platform flag mitigation.paused)');
for (const [name, description] of [
  [
    'pause',
    'pause automatic mitigation: executions stop before their next action and hand off; alerts, operator actions ' +
      'and rollbacks go on',
  ],
  ['resume', 'resume automatic mitigation'],
  ['status', 'show whether automatic mitigation is paused, by whom and since when'],
] as const) {
  mitigationControl
    .command(name)
    .description(description)
    .requiredOption('--table <name>', 'the state table (stack output StateTableName)')
    .option('--endpoint <url>', 'DynamoDB endpoint (for the local stand-in); default: AWS from the environment')
    .option(
      '--reason <text>',
      'why (stored with the flag)',
      `${name} from the CLI by ${process.env.USER ?? 'an operator'}`,
    )
    .action(async (o: { table: string; endpoint?: string; reason: string }) => {
      const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
      const { localDynamoClient } = await import('../local/stand-ins.js');
      const { killSwitchState, setKillSwitch } = await import('../lambdas/adapters/kill-switch.js');
      const dynamo = o.endpoint
        ? localDynamoClient(o.endpoint)
        : new DynamoDBClient({ requestHandler: new NodeHttpHandler() });
      if (name !== 'status') await setKillSwitch(dynamo, o.table, name === 'pause', o.reason, Date.now());
      const s = await killSwitchState(dynamo, o.table);
      console.log(
        s.paused
          ? `automatic mitigation is PAUSED ` +
              `(${s.setBy ?? 'unknown'}, since ${new Date(s.updatedAt ?? 0).toISOString()})`
          : 'automatic mitigation is active',
      );
    });
}

/**
 * Each non-blank line becomes one record; its partition key follows contract 1 (tenant, or key for
 * activity). A record without an `id` gets one derived from the line (and how often the same line
 * came before), so a chunk PutRecords resends after an ambiguous failure, or a second run of the same
 * file, is dropped by the consumer's id dedupe instead of counted twice.
 */
function readEnvelopeLines(file: string) {
  let skipped = 0;
  const occurrences = new Map<string, number>();
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (!line.trim()) {
        skipped++;
        return [];
      }
      let pk: unknown;
      let data = line;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        pk = o.type === 'activity' ? o.key : o.tenant;
        if (o && typeof o === 'object' && !Array.isArray(o) && o.id === undefined)
          data = withDerivedId(line, occurrences);
      } catch {
        throw new Error(`${file}:${i + 1}: not JSON; fix the line or remove it`);
      }
      if (typeof pk !== 'string' || !pk)
        throw new Error(`${file}:${i + 1}: no ${'tenant'} (or activity key) to partition by`);
      return [{ Data: Buffer.from(data), PartitionKey: pk }];
    });
  return { entries, skipped };
}

/** The line with `"id":"p-<hash of the line>[-n]"` put first, the rest of it byte for byte as written. */
function withDerivedId(line: string, occurrences: Map<string, number>): string {
  const n = (occurrences.get(line) ?? 0) + 1;
  occurrences.set(line, n);
  const id = `p-${createHash('sha256').update(line).digest('base64url').slice(0, 22)}${n > 1 ? `-${n}` : ''}`;
  const body = line.trim().slice(1).trimStart();
  return `{"id":${JSON.stringify(id)}${body.startsWith('}') ? '' : ','}${body}`;
}

program.parseAsync().catch((e: Error) => {
  console.error(`error: ${e.message}`);
  process.exitCode = 2;
});
