import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSourceConfigs, type UsageSourceConfig } from '../../../../lambdas/core/ingest/source-config.js';
import { mapResponse, nextPageUrl, pollWindow, sourceUrl } from '../../../../lambdas/core/ingest/source-mapping.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/sources', name), 'utf8'));

/** The configurations a user would write in cdk.json for three real-world response shapes. */
const [datadog, twilio, billing] = parseSourceConfigs([
  {
    name: 'datadog-hosts',
    url:
      'https://api.datadoghq.com/api/v2/usage/hourly_usage?filter[timestamp][start]={windowStart}' +
      '&filter[timestamp][end]={windowEnd}&filter[product_families]=infra_hosts',
    scheduleMinutes: 60,
    auth: { secret: 'anomaly-guard/datadog', scheme: 'header', header: 'DD-API-KEY' },
    pagination: { next: 'meta.pagination.next_record_id', param: 'page[next_record_id]' },
    mapping: [
      {
        records: 'data[*].attributes',
        type: 'metric',
        fields: {
          tenant: 'org_name',
          signal: "'infra_hosts'",
          value: "measurements[?usage_type=='agent_host_count'] | [0].value",
          ts: 'timestamp',
          region: 'region',
        },
      },
    ],
  },
  {
    name: 'twilio-sms',
    url:
      'https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Usage/Records/Daily.json' +
      '?Category=sms',
    scheduleMinutes: 1440,
    auth: { secret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf', scheme: 'basic' },
    pagination: { next: 'next_page_uri' },
    mapping: [
      {
        records: 'usage_records',
        type: 'metric',
        fields: {
          tenant: "'notify'",
          signal: "'sms_cost_usd'",
          value: 'price',
          ts: "join('', [start_date, 'T00:00:00Z'])",
          dims: '{category: category}',
        },
      },
    ],
  },
  {
    name: 'billing',
    url: 'https://billing.example.com/v1/costs?from={windowStartEpoch}&to={windowEndEpoch}',
    auth: { secret: 'billing-token', scheme: 'bearer' },
    pagination: { next: 'next' },
    mapping: [
      {
        records: 'items',
        type: 'metric',
        fields: {
          tenant: 'customer',
          signal: "join('_', [service, 'cost_usd'])",
          value: 'amount',
          ts: 'period_end',
          region: 'region',
        },
      },
      {
        records: 'releases',
        type: 'change',
        fields: { tenant: 'tenant', change: "'release'", ts: 'at', title: 'version' },
      },
    ],
  },
]) as [UsageSourceConfig, UsageSourceConfig, UsageSourceConfig];

describe('mapping recorded third-party responses to envelope records', () => {
  it('maps a Datadog hourly-usage page: one metric per org, the measurement picked by usage type', () => {
    const { records, rejected } = mapResponse(datadog, fixture('datadog-hourly-usage.page1.json'));
    expect(rejected).toEqual([]);
    expect(records.map((r) => r.record)).toMatchObject([
      {
        type: 'metric',
        tenant: 'acme',
        signal: 'infra_hosts',
        value: 42,
        ts: Date.parse('2026-12-05T10:00:00Z'),
        region: 'us',
      },
      {
        type: 'metric',
        tenant: 'globex',
        signal: 'infra_hosts',
        value: 7,
        ts: Date.parse('2026-12-05T10:00:00Z'),
        region: 'us',
      },
    ]);
    // Contract 1: metric records are partitioned by tenant.
    expect(records.map((r) => r.partitionKey)).toEqual(['acme', 'globex']);
  });

  it(
    "maps Twilio's daily usage records: decimal strings become numbers, dates become UTC midnight, a null price " +
      'is rejected with the reason',
    () => {
      const { records, rejected } = mapResponse(twilio, fixture('twilio-usage-records.json'));
      expect(records.map((r) => [r.record.ts, (r.record as { value: number }).value])).toEqual([
        [Date.parse('2026-12-03T00:00:00Z'), 1367.475],
        [Date.parse('2026-12-04T00:00:00Z'), 4590.75],
      ]);
      expect(records[0]!.record).toMatchObject({ tenant: 'notify', signal: 'sms_cost_usd', dims: { category: 'sms' } });
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toMatch(/^mapping\[0\]: .*value/);
      expect(rejected[0]!.item).toMatchObject({ start_date: '2026-12-05', price: null });
    },
  );

  it(
    'maps a billing export with two rules (costs and releases), reads epoch seconds, and rejects the items the ' +
      'consumer would dead-letter',
    () => {
      const { records, rejected } = mapResponse(billing, fixture('billing-export-costs.json'));
      expect(records.map((r) => r.record)).toMatchObject([
        {
          type: 'metric',
          tenant: 'acme',
          signal: 'search_cost_usd',
          value: 12.4,
          ts: Date.parse('2026-12-05T10:05:00Z'),
          region: 'kr',
        },
        { type: 'metric', tenant: 'globex', signal: 'search_cost_usd', value: 3.05 },
        {
          type: 'change',
          tenant: 'acme',
          change: 'release',
          title: 'search 2.4',
          ts: Date.parse('2026-12-05T09:58:00Z'),
        },
      ]);
      expect(rejected.map((r) => r.reason)).toEqual([expect.stringMatching(/tenant/), expect.stringMatching(/value/)]);
      expect(rejected.map((r) => (r.item as { customer: string }).customer)).toEqual(['', 'umbrella']);
    },
  );

  it(
    'rejects a vendor change item that would mute every tenant ("*") or last longer than 24 h, naming the field ' +
      '(issue 18.6)',
    () => {
      const source = {
        ...billing,
        mapping: [
          {
            records: 'windows',
            type: 'change' as const,
            fields: { tenant: 'tenant', change: "'maintenance'", ts: 'from', until: 'to' },
          },
        ],
      };
      const body = {
        windows: [
          { tenant: '*', from: '2026-12-05T10:00:00Z', to: '2199-01-01T00:00:00Z' },
          { tenant: 'acme', from: '2026-12-05T10:00:00Z', to: '2026-12-07T10:00:00Z' },
          { tenant: 'acme', from: '2026-12-05T10:00:00Z', to: '2026-12-05T12:00:00Z' },
        ],
      };
      const { records, rejected } = mapResponse(source, body);
      expect(records.map((r) => r.record)).toMatchObject([
        { type: 'change', tenant: 'acme', change: 'maintenance', until: Date.parse('2026-12-05T12:00:00Z') },
      ]);
      expect(rejected.map((r) => r.reason)).toEqual([
        expect.stringMatching(/^mapping\[0\]: tenant: .*exactly one tenant/),
        expect.stringMatching(/^mapping\[0\]: until: .*at most 24 h/),
      ]);
    },
  );

  it(
    'gives each record an id from its identity, so re-polling a window is deduplicated even when the vendor ' +
      'revised the amount',
    () => {
      const body = fixture('billing-export-costs.json') as { items: { amount: string }[] };
      const first = mapResponse(billing, body).records;
      const again = mapResponse(billing, body).records;
      body.items[0]!.amount = '13.10';
      const revised = mapResponse(billing, body).records;
      const ids = first.map((r) => r.record.id);
      expect(again.map((r) => r.record.id)).toEqual(ids);
      expect(revised.map((r) => r.record.id)).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.every((id) => id?.startsWith('billing:'))).toBe(true);
    },
  );

  it('prefixes a mapped id with the source name, so two vendors cannot collide', () => {
    const source = {
      ...billing,
      mapping: [
        {
          records: 'items',
          type: 'metric' as const,
          fields: { ...billing.mapping[0]!.fields, id: "join('-', [customer, service])" },
        },
      ],
    };
    expect(mapResponse(source, fixture('billing-export-costs.json')).records[0]!.record.id).toBe('billing:acme-search');
  });

  it('rejects the whole response, keeping it, when the rule selects nothing', () => {
    const { records, rejected } = mapResponse(datadog, { errors: ['Forbidden'] });
    expect(records).toEqual([]);
    expect(rejected).toEqual([
      { reason: expect.stringMatching(/selected nothing.*expected shape/), rule: 0, item: { errors: ['Forbidden'] } },
    ]);
  });

  it('lines are envelopes the consumer accepts as they are', () => {
    const { records } = mapResponse(billing, fixture('billing-export-costs.json'));
    for (const r of records) expect(JSON.parse(r.line)).toMatchObject({ v: 1, type: r.record.type, id: r.record.id });
  });
});

describe('polling windows and pages', () => {
  it('consecutive scheduled runs poll consecutive windows, even with a few seconds of jitter', () => {
    const t = Date.parse('2026-12-05T10:05:00Z');
    expect(pollWindow(t + 4_000, billing)).toEqual({ from: Date.parse('2026-12-05T10:00:00Z'), to: t });
    expect(pollWindow(t - 3_000, billing)).toEqual({ from: Date.parse('2026-12-05T10:00:00Z'), to: t });
    expect(pollWindow(t + 300_000, billing).from).toBe(t);
    expect(pollWindow(t, { scheduleMinutes: 5, lagMinutes: 10 })).toEqual({
      from: Date.parse('2026-12-05T09:50:00Z'),
      to: Date.parse('2026-12-05T09:55:00Z'),
    });
  });

  it('fills the window placeholders, URL-encoded', () => {
    const w = { from: Date.parse('2026-12-05T10:00:00Z'), to: Date.parse('2026-12-05T10:05:00Z') };
    expect(sourceUrl(datadog.url, w)).toContain(
      'filter[timestamp][start]=2026-12-05T10%3A00%3A00.000Z&filter[timestamp][end]=2026-12-05T10%3A05%3A00.000Z',
    );
    expect(sourceUrl(billing.url, w)).toBe('https://billing.example.com/v1/costs?from=1796464800&to=1796465100');
  });

  it('follows cursors, relative next links and stops when there is no next page', () => {
    const url = 'https://api.datadoghq.com/api/v2/usage/hourly_usage?filter[product_families]=infra_hosts';
    expect(
      new URL(nextPageUrl(datadog, fixture('datadog-hourly-usage.page1.json'), url)!).searchParams.get(
        'page[next_record_id]',
      ),
    ).toBe('def456');
    expect(nextPageUrl(datadog, fixture('datadog-hourly-usage.page2.json'), url)).toBeUndefined();
    expect(nextPageUrl(twilio, fixture('twilio-usage-records.json'), twilio.url)).toBe(
      'https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Usage/Records/Daily.json' +
        '?Category=sms&PageSize=50&Page=1&PageToken=PASMS2026',
    );
  });

  it('refuses a next link to another host: the credential would go with it', () => {
    expect(() =>
      nextPageUrl(billing, { next: 'https://evil.example.net/steal' }, 'https://billing.example.com/v1/costs'),
    ).toThrow(/another origin/);
  });
});

describe('source configuration', () => {
  const valid = {
    name: 'billing',
    url: 'https://billing.example.com/v1/costs',
    mapping: [{ records: 'items', type: 'metric', fields: { tenant: 'a', signal: 'b', value: 'c', ts: 'd' } }],
  };

  it('fills in the defaults', () => {
    expect(parseSourceConfigs([valid])[0]).toMatchObject({
      scheduleMinutes: 5,
      lagMinutes: 0,
      timeoutSeconds: 10,
      maxAttempts: 3,
      maxPages: 20,
      headers: {},
    });
    expect(parseSourceConfigs(undefined)).toEqual([]);
  });

  it.each([
    ['a name with spaces', { ...valid, name: 'Billing API' }, /sources\[0\].*name must be/],
    ['plain http to a remote host', { ...valid, url: 'http://billing.example.com/v1' }, /url must be https/],
    [
      'credentials in the URL',
      { ...valid, url: 'https://user:pw@billing.example.com/v1' },
      /must not embed credentials/,
    ],
    [
      'an unknown placeholder',
      { ...valid, url: 'https://billing.example.com/v1?from={start}' },
      /unknown placeholders \{start\}/,
    ],
    ['an Authorization header', { ...valid, headers: { Authorization: 'Bearer x' } }, /must not carry Authorization/],
    [
      'a header scheme without the header',
      { ...valid, auth: { secret: 'x', scheme: 'header' } },
      /auth.header must name/,
    ],
    [
      'a secret ARN without its six-character suffix',
      { ...valid, auth: { secret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:billing', scheme: 'bearer' } },
      /complete ARN \(with the six-character suffix/,
    ],
    [
      'a KMS key that is not a key ARN',
      { ...valid, auth: { secret: 'billing', scheme: 'bearer', kmsKeyArn: 'alias/aws/secretsmanager' } },
      /auth.kmsKeyArn must be a KMS key ARN/,
    ],
    ['an unknown auth scheme', { ...valid, auth: { secret: 'x', scheme: 'oauth' } }, /auth.scheme must be/],
    ['a zero schedule', { ...valid, scheduleMinutes: 0 }, /scheduleMinutes must be an integer in 1..1440/],
    ['no mapping rules', { ...valid, mapping: [] }, /mapping must be a non-empty list/],
    [
      'a JMESPath syntax error',
      { ...valid, mapping: [{ records: 'items[', type: 'metric', fields: valid.mapping[0]!.fields }] },
      /mapping\[0\].records is not valid JMESPath/,
    ],
    [
      'a metric rule without signal and value',
      { ...valid, mapping: [{ records: 'items', type: 'metric', fields: { tenant: 'a', ts: 'b' } }] },
      /missing signal, value for metric records/,
    ],
    [
      'a field that is not in the envelope',
      { ...valid, mapping: [{ records: 'items', type: 'metric', fields: { ...valid.mapping[0]!.fields, cost: 'x' } }] },
      /fields.cost is not an envelope field/,
    ],
  ])('rejects %s, naming the problem', (_label, source, message) => {
    expect(() => parseSourceConfigs([source])).toThrow(message);
  });

  it('allows plain http only to a local test source, and rejects duplicate names', () => {
    expect(parseSourceConfigs([{ ...valid, url: 'http://127.0.0.1:9000/usage' }])).toHaveLength(1);
    expect(() => parseSourceConfigs([valid, valid])).toThrow(/sources\[1\] \(billing\).name is used by another source/);
  });
});
