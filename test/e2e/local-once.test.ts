import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayEnvelopes } from '../../local/replay-envelopes.js';
import { runLocal } from '../../local/runtime.js';

describe('local --once', () => {
  it('runs the simulated workload through stream, consumer and state, and accounts for every record', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ag-local-'));
    const lines: string[] = [];
    const summary = await runLocal({
      scenario: 'default',
      once: true,
      out,
      port: 0,
      minutes: 30,
      chunk: 500,
      log: (l) => lines.push(l),
    });
    const written = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(written).toEqual(JSON.parse(JSON.stringify(summary)));
    expect(summary.ok).toBe(true);
    expect(summary.records.sent).toBeGreaterThan(2000);
    expect(summary.records.processed + summary.records.deadLettered).toBe(summary.records.sent);
    expect(summary.records.lost).toBe(0);
    // 3 tenants x 5 signals plus the podcast listeners' engagement keys.
    expect(summary.keys).toBeGreaterThanOrEqual(15);
    expect(summary.windows).toBeGreaterThan(15 * 10);
    for (const field of ['anomalies', 'alerts', 'reports', 'firstAlertMs', 'durationMs'] as const)
      expect(written).toHaveProperty(field);
    expect(summary.archive.records, 'every record sent is in the raw archive').toBe(summary.records.sent);
    expect(summary.archive.objects).toBeGreaterThanOrEqual(1);
    expect(written.mitigations).toEqual({ started: 0, succeeded: 0, rolledBack: 0 });
    const letters = readFileSync(join(out, 'dead-letters.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(letters).toHaveLength(summary.records.deadLettered);
    expect(letters.every((l) => typeof l.reason === 'string' && l.reason.length > 0)).toBe(true);
    expect(lines.some((l) => l.includes('processed'))).toBe(true);
  }, 120_000);

  it('polls the local vendor API on its 5-minute schedule: its cost records reach the stream, its unpriced item is ' +
    'dead-lettered', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ag-local-'));
    const summary = await runLocal({
      scenario: 'default',
      once: true,
      out,
      port: 0,
      minutes: 60,
      chunk: 500,
      log: () => {},
    });
    expect(summary.ok, summary.problems.join('; ')).toBe(true);
    // 60 simulated minutes pass 11 or 12 schedule boundaries (the first is after the start).
    expect(summary.sources.polls).toBeGreaterThanOrEqual(11);
    expect(summary.sources.failedPolls).toBe(0);
    // Two customers, one line item a minute each, one unpriced item an hour.
    expect(summary.sources.put).toBe(summary.sources.polls * 5 * 2 - summary.sources.rejected);
    expect(summary.sources.rejected).toBeGreaterThanOrEqual(1);
    const letters = readFileSync(join(out, 'source-failures.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(letters).toHaveLength(summary.sources.deadLettered);
    expect(letters[0]).toMatchObject({
      kind: 'mapping',
      source: 'vendor-billing',
      item: { customer: 'globex', amount: 'n/a' },
    });
    expect(letters[0].reason).toMatch(/value/);
    // The polled records are in the stream's accounting: processed like any producer's, and archived.
    expect(summary.records.processed + summary.records.deadLettered).toBe(summary.records.sent);
    expect(summary.archive.records).toBe(summary.records.sent);
    const archived = readdirSync(join(out, 'archive'), { recursive: true }).length;
    expect(archived).toBeGreaterThan(0);
    expect(summary.keys, 'acme and globex cdn_cost_usd keys').toBeGreaterThanOrEqual(17);
  }, 120_000);

  it('the default demo: four incident kinds mitigated in a closed loop and rolled back, a benign release and a ' +
    'whitelisted campaign, reports for each', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ag-local-'));
    const lines: string[] = [];
    const summary = await runLocal({
      scenario: 'default',
      once: true,
      out,
      port: 0,
      minutes: 240,
      chunk: 500,
      log: (l) => lines.push(l),
    });
    expect(summary.ok, summary.problems.join('; ')).toBe(true);
    expect(summary.records.lost).toBe(0);
    const alerts = readFileSync(join(out, 'alerts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            tenant: string;
            signal: string;
            class: string;
            recommendation?: string;
            decision: string;
            trigger: string;
            evidence: string[];
          },
      );
    // Every page says which part of the detector it rests on (or it came from the cost-creep rule).
    expect(alerts.filter((a) => a.evidence.some((e) => e.includes('(detector: '))).length).toBeGreaterThan(3);
    for (const a of alerts)
      expect(a.evidence.some((e) => /\(detector: (band|shift|stuck|density)\)$/.test(e)) || a.trigger === 'cost').toBe(
        true,
      );
    // One episode per incident kind of seed 004's playbooks, classified as such.
    const kind = (tenant: string, signal: string) => alerts.find((a) => a.tenant === tenant && a.signal === signal);
    expect(kind('acme', 'cqs_p95')?.class).toBe('app');
    expect(kind('globex', 'edge_p95_ms')?.class).toBe('infra');
    expect(kind('initech', 'notify_rpm')?.class).toBe('abuse');
    expect(kind('globex', 'ingest_rpm')?.class).toBe('tenant');
    // The campaign's surge: soft steps only. The benign release is blamed for nothing.
    expect(kind('initech', 'ingest_rpm')?.class).toBe('tenant');
    expect(JSON.stringify(kind('initech', 'ingest_rpm'))).toMatch(/campaign chg-initech-campaign-210 .*surge expected/);
    expect(lines.some((l) => /initech ingest_rpm .*soft steps only \(whitelisted tenant\)/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('notify 3.1'))).toBe(false);
    expect(summary.mitigations.started).toBeGreaterThanOrEqual(5);
    expect(summary.mitigations.succeeded).toBe(summary.mitigations.started);
    expect(summary.mitigations.rolledBack).toBeGreaterThanOrEqual(summary.mitigations.started);
    expect(summary.firstMitigationEndedMs).toBeGreaterThan(summary.firstAlertMs!);
    // The notification storm's hard steps wait for an approval; the demo's simulated on-call gives it, says so, and
    // the hard stage is applied with who approved it.
    // (Which other incidents escalate depends on how far the closed loop got by each check: at least the storm's.)
    expect(summary.approvals.requested).toBeGreaterThanOrEqual(1);
    expect(summary.approvals).toMatchObject({ answered: summary.approvals.requested, expired: 0, waiting: 0 });
    // Seed 004 §F as the episode reports measured it: every mitigation that acted is judged against its target.
    const judged = summary.controlTargets.met + summary.controlTargets.missed;
    expect(judged + summary.controlTargets.notJudged).toBeGreaterThanOrEqual(summary.mitigations.started - 1);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).controlTargets).toEqual(summary.controlTargets);
    expect(lines.some((l) => /^simulated operator: approved rb-[0-9a-z]+-approve-hard /.test(l))).toBe(true);
    expect(
      lines.some((l) =>
        /initech notify_rpm mitigation hard stage applied .*approved by local:simulated-operator/.test(l),
      ),
    ).toBe(true);

    // The closed loop: the simulated services pick up the applied flags while the incident is still on,
    // before the regression check, and drop them again as the staged rollback removes them.
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const applied = at(/acme cqs_p95 mitigation soft stage applied/);
    const reacted = at(
      /^simulator: acme's services now read search\.cache\.ttl_seconds.*incident excess cut by \d+ % on cqs_p95/,
    );
    const recovered = at(/acme cqs_p95 mitigation recovered/);
    expect(applied).toBeGreaterThanOrEqual(0);
    expect(reacted).toBeGreaterThan(applied);
    expect(recovered).toBeGreaterThan(reacted);
    expect(
      lines.slice(reacted, recovered).filter((l) => l.startsWith("simulator: acme's services now read")).length,
    ).toBeGreaterThanOrEqual(2);

    // A report per mitigated episode plus the daily digests, copied to <out>/reports/.
    const files = (readdirSync(join(out, 'reports'), { recursive: true }) as string[]).map((f) =>
      f.replaceAll('\\', '/'),
    );
    const episodeDirs = [
      ...new Set(files.filter((f) => /\/rca-[^/]+\/report\.md$/.test(f)).map((f) => f.replace(/report\.md$/, ''))),
    ];
    expect(episodeDirs).toHaveLength(summary.mitigations.started);
    expect(summary.reports).toBeGreaterThan(summary.mitigations.started);
    for (const dir of episodeDirs)
      for (const f of ['report.json', 'report.md', 'report.html', 'evidence.tar.gz'])
        expect(existsSync(join(out, 'reports', dir, f)), `${dir}${f}`).toBe(true);
    const acme = episodeDirs
      .map((d) => ({ d, r: JSON.parse(readFileSync(join(out, 'reports', d, 'report.json'), 'utf8')) }))
      .find(({ r }) => r.episode.tenant === 'acme' && r.episode.signal === 'cqs_p95')!;
    expect(acme.r.actions.length).toBeGreaterThan(0);
    // The workflow runs on the simulated services' clock: its actions sit within the scenario's event
    // time, after the detection they answer, not at the wall-clock time of the run.
    const detectedAt = Date.parse(acme.r.episode.detectedAt);
    for (const a of acme.r.actions as { appliedAt: string; rolledBackAt?: string }[]) {
      expect(Date.parse(a.appliedAt)).toBeGreaterThanOrEqual(detectedAt);
      expect(Date.parse(a.appliedAt)).toBeLessThan(detectedAt + 60 * 60_000);
      expect(Date.parse(a.rolledBackAt!)).toBeGreaterThan(Date.parse(a.appliedAt));
    }
    // So is the rest of the report's timeline: the alert and the execution's end.
    const within = (iso: string) => Date.parse(iso) >= detectedAt && Date.parse(iso) < detectedAt + 60 * 60_000;
    const timeline = acme.r.timeline as { at: string; kind: string }[];
    for (const kind of ['alert', 'outcome'])
      expect(
        timeline.filter((e) => e.kind === kind).map((e) => within(e.at)),
        kind,
      ).toEqual([true]);
    expect(readFileSync(join(out, 'reports', acme.d, 'report.md'), 'utf8')).toMatch(/acme cqs_p95 rose \+\d+%/);
    expect(readFileSync(join(out, 'reports', acme.d, 'report.html'), 'utf8')).toContain('<svg');
    expect(files.some((f) => /\/daily-\d{4}-\d\d-\d\d\/report\.html$/.test(f))).toBe(true);
  }, 240_000);

  it('replays a JSONL scenario file verbatim, dead-lettering its malformed lines', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ag-local-'));
    const file = join(out, 'scenario.jsonl');
    const ts = Date.parse('2026-11-22T10:00:00Z');
    const good = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ v: 1, type: 'metric', ts: ts + i * 20_000, tenant: 'acme', signal: 'cqs_p95', value: 0.003 }),
    );
    const change = JSON.stringify({
      v: 1,
      type: 'change',
      id: 'rel-1',
      ts: '2026-11-22T09:40:00Z',
      tenant: 'acme',
      change: 'release',
      title: 'search 2.3',
    });
    writeFileSync(file, [...good, change, '{"v":1,"type":"metric","ts":"soon"}', 'not json at all'].join('\n'));
    const summary = await runLocal({ scenario: file, once: true, out, port: 0, minutes: 1, chunk: 500, log: () => {} });
    expect(summary.records).toMatchObject({ sent: 33, processed: 31, deadLettered: 2, lost: 0 });
    expect(summary.ok).toBe(true);
    // Every record, malformed ones included, is in the raw archive copied to <out>/archive/raw/...
    expect(summary.archive.records).toBe(33);
    const objects = (readdirSync(join(out, 'archive'), { recursive: true }) as string[])
      .map((f) => f.replaceAll('\\', '/'))
      .filter((f) => f.endsWith('.gz'));
    expect(objects.length).toBe(summary.archive.objects);
    for (const f of objects) expect(f).toMatch(/^raw\/\d{4}\/\d\d\/\d\d\/\d\d\/RawArchiveDeliveryStream-1-/);
    // ...and replays to the same decisions as the consumer made.
    const replayed = await replayEnvelopes({ input: join(out, 'archive'), out: join(out, 'replayed') });
    expect(replayed).toMatchObject({ records: 33, processed: 31, deadLettered: 2 });
  }, 120_000);
});
