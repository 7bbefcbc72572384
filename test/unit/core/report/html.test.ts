import { describe, expect, it } from 'vitest';
import {
  buildReport,
  renderHtml,
  renderMarkdown,
  reportObjectKeys,
  type EpisodeReport,
  type SeriesPoint,
} from '../../../../lambdas/core/report/index.js';
import { SEED_CHANGES, T0, at, seedAnomaly, seedInput, seedPlan } from './fixtures.js';

/** Anything that would make a browser fetch: a page that opens offline and leaks nothing. */
function externalReferences(html: string): string[] {
  const patterns = [
    /\b(?:src|href|xlink:href|action|poster|srcset)\s*=\s*["']?\s*(?:https?:)?\/\//gi,
    /<script\b[^>]*\bsrc\s*=/gi,
    /<link\b/gi,
    /url\(\s*["']?\s*(?:https?:)?\/\//gi,
    /@import/gi,
    /<(?:iframe|object|embed|img)\b/gi,
    /https?:\/\//gi,
  ];
  return patterns.flatMap((p) => html.match(p) ?? []);
}

describe('report.html', () => {
  const report = buildReport(seedInput()) as EpisodeReport;
  const html = renderHtml(report);

  it('is self-contained: no external reference of any kind, inline CSS, a CSP that forbids fetching', () => {
    expect(externalReferences(html)).toEqual([]);
    expect(html).not.toMatch(/<script/i);
    expect(html).toMatch(/<style>[^<]+<\/style>/);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    );
  });

  it('charts the signal: observed line, expected band, change and action markers', () => {
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>') + 6);
    expect(html.match(/<svg\b/g)).toHaveLength(1);
    expect(svg).toMatch(/<path class="observed" d="M[\d.]+,[\d.]+( L[\d.]+,[\d.]+){100,}"/);
    expect(svg).toMatch(/<polygon class="band" points="[\d., ]+"/);
    expect(svg).toMatch(/<path class="expected" d="M/);
    const markers = [...svg.matchAll(/<g class="marker ([\w-]+)">.*?<text[^>]*>([^<]*)<\/text><\/g>/gs)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(markers).toEqual([
      'change rel-381',
      'start start',
      'detected detected',
      'applied 3 applied',
      'change rel-390',
      'stabilised stable',
      'rolled-back undo facet-limit',
      'rolled-back undo rows-limit',
      'rolled-back undo cache-ttl',
    ]);
    // Hovering a marker names the rollback keys.
    for (const a of seedPlan().stages[0]!.actions) expect(svg).toContain(a.rollbackKey);
  });

  it('says the same things as the markdown: spike, class, actions with rollback keys, recovery, cost effect', () => {
    expect(html).toContain('acme cqs_p95 rose +51% above its expected 0.0037 USD');
    expect(html).toContain('<h2>Classification: app</h2>');
    expect(html).toContain('stabilised 27 min after the first action');
    expect(html).toContain('<span class="figure good">−19%</span>');
    expect(html).toContain('<span class="figure good">USD 335.10</span>');
    for (const a of report.actions) expect(html).toContain(`<code>${a.rollbackKey}</code>`);
  });

  it('a long series is downsampled to at most 720 chart points and keeps the spike', () => {
    const series: SeriesPoint[] = Array.from({ length: 3000 }, (_, i) => ({
      ts: at(i - 1500),
      observed: i === 1777 ? 0.009 : 0.0037 + (i % 7) * 0.00001,
      expected: 0.0037,
      lo: 0.0035,
      hi: 0.0039,
    }));
    const r = buildReport(seedInput({ series })) as EpisodeReport;
    expect(r.series.length).toBeLessThanOrEqual(720);
    expect(Math.max(...r.series.map((p) => p.observed))).toBe(0.009);
    const d = /<path class="observed" d="([^"]+)"/.exec(renderHtml(r))![1]!;
    expect(d.split(' ').length).toBeLessThanOrEqual(720);
  });
});

describe('data from outside is escaped, never markup', () => {
  const evil = '<script>alert(1)</script>';
  const title = '"><img src=x onerror=alert(1)>';
  const anomaly = seedAnomaly({ tenant: evil, evidence: [`${evil} affected`, 'a <b>bold</b> claim'] });
  const input = seedInput({
    anomaly,
    plan: seedPlan(anomaly),
    changes: [...SEED_CHANGES, { id: 'x"1', tenant: evil, change: 'campaign', ts: T0 - 5 * 60_000, title }],
  });
  const report = buildReport(input) as EpisodeReport;

  it('in the HTML: no tag, no attribute break-out, the text still readable', () => {
    const html = renderHtml(report);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<b>/);
    expect(html).not.toMatch(/<[^>]*onerror/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; cqs_p95 rose +51%');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('a &lt;b&gt;bold&lt;/b&gt; claim');
    expect(externalReferences(html)).toEqual([]);
  });

  it('in the markdown: no raw HTML, no table break-out', () => {
    const md = renderMarkdown(report);
    // Inside code spans markdown shows text literally; everywhere else it must be escaped.
    const outsideCode = md.replace(/(`+)[^`]*?\1/g, '');
    expect(outsideCode).not.toMatch(/<script|<img|<b>/i);
    expect(md).toContain('tenant `<script>alert(1)</script>`');
    expect(md).toContain('&lt;script&gt;alert(1)&lt;/script&gt; cqs_p95 rose +51%');
    const actionRows = md.split('\n').filter((l) => l.includes('| soft |'));
    expect(actionRows).toHaveLength(3);
    for (const line of actionRows) expect(line.split(/(?<!\\)\|/)).toHaveLength(10);
  });

  it('in the object keys: only safe characters', () => {
    const keys = reportObjectKeys(report);
    for (const k of [keys.json, keys.markdown, keys.html, keys.bundle])
      expect(k).toMatch(
        /^reports\/2026\/11\/22\/rca-[a-z0-9]+-[A-Za-z0-9._-]+\/(report\.(json|md|html)|evidence\.tar\.gz)$/,
      );
  });
});
