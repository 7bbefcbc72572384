import { describe, expect, it } from 'vitest';
import { DeadLetterFormatError, redriveDecision } from '../../../../lambdas/core/ingest/redrive.js';

const envelope = '{"v":1,"type":"metric","id":"m-1","ts":1796465100000,"tenant":"acme","signal":"cqs_p95","value":3}';
const window = { from: '2026-12-05T10:00:00.000Z', to: '2026-12-05T10:05:00.000Z' };

describe('redriveDecision: what a dead letter holds and whether it goes back on the stream', () => {
  it("redrives the consumer's invalid records with their partition key and reason", () => {
    const d = redriveDecision(
      JSON.stringify({
        reason: 'value: expected number',
        shardId: 'shardId-0',
        sequenceNumber: '7',
        partitionKey: 'acme',
        data: envelope,
        source: 'consumer',
      }),
    );
    expect(d).toMatchObject({ redrive: true, partitionKey: 'acme', reason: 'value: expected number' });
    expect(d.redrive && Buffer.from(d.data).toString('utf8')).toBe(envelope);
  });

  it('decodes records that were not UTF-8 (dataBase64) byte for byte', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const d = redriveDecision(
      JSON.stringify({ reason: 'not UTF-8', partitionKey: 'raw', dataBase64: bytes.toString('base64') }),
    );
    expect(d.redrive && Buffer.from(d.data)).toEqual(bytes);
  });

  it("redrives a source poller's refused put, but not one whose record was too large to keep", () => {
    expect(
      redriveDecision(
        JSON.stringify({
          reason: 'ProvisionedThroughputExceededException',
          kind: 'put',
          source: 'billing',
          window,
          data: envelope,
          partitionKey: 'acme',
        }),
      ),
    ).toMatchObject({ redrive: true, partitionKey: 'acme' });
    const truncated = redriveDecision(
      JSON.stringify({
        reason: 'throttled',
        kind: 'put',
        source: 'billing',
        window,
        item: envelope.slice(0, 20),
        truncated: true,
      }),
    );
    expect(truncated).toMatchObject({
      redrive: false,
      what: expect.stringContaining('too large'),
      nextStep: expect.stringContaining(`"from":"${window.from}"`),
    });
  });

  it('leaves letters without a record in place and says what to do with each', () => {
    const cases: [object, string, string][] = [
      [
        {
          requestContext: {
            requestId: 'r',
            functionArn: 'arn:aws:lambda:us-east-1:1:function:consumer',
            condition: 'RetryAttemptsExhausted',
          },
          version: '1.0',
          KinesisBatchInfo: {
            shardId: 'shardId-000000000001',
            startSequenceNumber: '10',
            endSequenceNumber: '20',
            batchSize: 5,
          },
        },
        'shardId-000000000001 10..20',
        'raw archive',
      ],
      [
        {
          requestContext: { functionArn: 'arn:aws:lambda:us-east-1:1:function:reports', condition: 'RetriesExhausted' },
          requestPayload: { id: 'x' },
        },
        'failed invocation of arn:aws:lambda:us-east-1:1:function:reports (RetriesExhausted)',
        'requestPayload',
      ],
      [
        { 'detail-type': 'Anomaly Episode Closed', detail: {} },
        'undelivered EventBridge event "Anomaly Episode Closed"',
        'send the event',
      ],
      [
        { reason: 'HTTP 503 after 3 attempts', kind: 'fetch', source: 'billing', window },
        `window ${window.from}..${window.to} of source billing not fetched: HTTP 503 after 3 attempts`,
        'invoke the poller',
      ],
      [
        { reason: 'tenant: required', kind: 'mapping', source: 'billing', window, item: { customer: null } },
        'item of source billing that is not an envelope: tenant: required',
        'sources[].mapping',
      ],
    ];
    for (const [letter, what, step] of cases) {
      const d = redriveDecision(JSON.stringify(letter));
      expect(d.redrive).toBe(false);
      expect(d.redrive === false && d.what).toContain(what);
      expect(d.redrive === false && d.nextStep).toContain(step);
    }
  });

  it('refuses messages that are not dead letters, naming the problem', () => {
    expect(() => redriveDecision('{"v":1')).toThrow(DeadLetterFormatError);
    expect(() => redriveDecision('{"v":1')).toThrow(/not JSON/);
    expect(() => redriveDecision('[1,2]')).toThrow(/not a JSON object/);
    expect(() => redriveDecision(JSON.stringify({ reason: 'x', data: envelope }))).toThrow(
      /no record \(data or dataBase64 with a partitionKey\)/,
    );
    expect(() => redriveDecision(JSON.stringify({ reason: 'x', partitionKey: '', data: envelope }))).toThrow(
      DeadLetterFormatError,
    );
  });
});
