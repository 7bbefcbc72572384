import { dailyChart, episodeChart, esc } from './chart.js';
import { TRIGGER_WORDS, changeLabel, outcomeDetail } from './episode.js';
import { clock, names, num, pct, plural, savingsCell, usd, value, withUnit } from './format.js';
import type {
  CostCard,
  DailyEpisodeRow,
  DailyReport,
  EpisodeReport,
  Report,
  ReportIncident,
  SavingsEstimate,
} from './model.js';

/**
 * report.html: one self-contained page. No external reference of any kind (no scripts, links,
 * fonts or images), and a CSP that forbids fetching anything should one slip in.
 */
export function renderHtml(report: Report): string {
  const title =
    report.kind === 'episode'
      ? `${report.episode.tenant} ${report.episode.signal} ${report.episode.change} (${report.classification.class}` +
        `) — RCA`
      : `Anomaly digest ${report.day}`;
  const body = report.kind === 'episode' ? episodeBody(report) : dailyBody(report);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const STYLE = [
  'body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1f;max-width:980px;',
  'margin:24px auto;padding:0 16px}h1{font-size:22px;margin:0 0 4px}h3{font-size:14px;margin:16px 0 6px}',
  'h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #e0e0e0;padding-bottom:4px}',
  '.meta{color:#555;margin:0 0 12px}',
  '.sev{display:inline-block;padding:1px 6px;border-radius:3px;background:#b00020;color:#fff;font-weight:600}',
  'code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f3f3;padding:1px 3px;border-radius:3px;',
  'word-break:break-all}table{border-collapse:collapse;width:100%;font-size:13px}',
  'th,td{border:1px solid #e0e0e0;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f7f7f7}',
  '.figure{font-size:20px;font-weight:600}.good{color:#1b7f3b}.bad{color:#b00020}figure{margin:8px 0}',
  'figcaption{color:#555;font-size:12px}svg.chart{max-width:100%;height:auto}.legend span{margin-right:14px}',
  '.swatch{display:inline-block;width:12px;height:3px;vertical-align:middle;margin-right:4px}',
  'tr.self td{background:#fff8e1}tr.denied td,tr.approval-expired td{color:#b00020}',
].join('');

function codeEl(s: string): string {
  return `<code>${esc(s)}</code>`;
}

function list(items: string[]): string {
  return `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>`;
}

function episodeBody(r: EpisodeReport): string[] {
  const e = r.episode;
  const unit = (v: number) => withUnit(v, e.unit);
  const b = r.figures.before;
  const out: string[] = [];
  const since = r.stabilisation.from === 'first-action' ? 'the first action' : 'detection';
  const headline =
    r.stabilisation.minutes !== null ? `stabilised ${r.stabilisation.minutes} min after ${since}` : 'not stabilised';
  out.push(`<h1>${esc(`${e.tenant} ${e.signal} ${e.change}`)} (${esc(r.classification.class)}): ${esc(headline)}</h1>`);
  out.push(
    `<p class="meta"><span class="sev">${esc(e.severity)}</span> tenant ${codeEl(e.tenant)} · signal ` +
      `${codeEl(e.signal)} (${esc([e.unit, e.category].filter(Boolean).join(', '))})` +
      `${e.region !== undefined ? ` · region ${codeEl(e.region)}` : ''} · episode ${codeEl(e.id)}` +
      `${r.incident ? ` · incident ${codeEl(r.incident.id)}` : ''} · report ${codeEl(r.id)} · generated ` +
      `${esc(clock(r.generatedAt))}</p>`,
  );

  const moved = b.observed >= b.expected ? 'rose' : 'fell';
  const side = b.observed >= b.expected ? 'above' : 'below';
  out.push('<h2>What happened</h2>');
  const what =
    `${e.tenant} ${e.signal} ${moved} ${e.change} ${side} its expected ${unit(b.expected)}, peaking at ` +
    `${unit(b.observed)} (expected band ${num(b.band.lo)}–${unit(b.band.hi)}). The anomaly started at ` +
    `${clock(e.start)} and was detected at ${clock(e.detectedAt, e.start)} (${TRIGGER_WORDS[e.trigger]}, score ` +
    `${num(e.score)}); decision: ${e.decision}.`;
  out.push(`<p>${esc(what)}</p>`);
  out.push(`<figure>${episodeChart(r)}<figcaption class="legend">${legend()}</figcaption></figure>`);

  if (r.incident) out.push(...incidentHtml(r.incident, e.id, e.start, r.generatedAt));

  out.push(`<h2>Classification: ${esc(r.classification.class)}</h2>`);
  out.push(
    r.classification.evidence.length
      ? list(r.classification.evidence.map(esc))
      : '<p>No evidence was recorded with the anomaly.</p>',
  );

  out.push('<h2>Changes</h2>');
  out.push(
    r.correlatedChanges.length
      ? `<p>Correlated at detection (within ±30 min of the start): ` +
          `${esc(r.correlatedChanges.map(changeLabel).join('; '))}.</p>`
      : '<p>No change record was correlated at detection (none within ±30 min of the start).</p>',
  );
  if (r.changes.length) {
    out.push(
      list(
        r.changes.map((c) => {
          const when =
            c.offsetMinutes === 0
              ? 'at the start of the anomaly'
              : c.offsetMinutes > 0
                ? `${c.offsetMinutes} min before the anomaly started`
                : `${-c.offsetMinutes} min after the anomaly started`;
          return esc(`${clock(c.at, e.start)} ${changeLabel(c)}${c.tenant === '*' ? ' (all tenants)' : ''}: ${when}`);
        }),
      ),
    );
  }

  out.push('<h2>Policy decisions</h2>');
  if (r.policy) {
    const p = r.policy;
    out.push(
      `<p>Playbook ${codeEl(p.playbook.id)} (${esc(p.playbook.title)}), chosen by ${esc(p.selectedBy)}; plan ` +
        `${codeEl(p.planId)}. Automatic mitigation: <strong>${p.allowed ? 'allowed' : 'not allowed'}</strong>.</p>`,
    );
    if (p.reasons.length) out.push(list(p.reasons.map(esc)));
    out.push(
      list(
        p.stages.map(
          (s) =>
            `${esc(s.level)} stage (${s.allowed ? 'allowed' : 'not allowed'}): ` +
            `${s.steps.length ? s.steps.map((x) => codeEl(x.stepId)).join(', ') : 'no applicable steps'}`,
        ),
      ),
    );
    if (p.skipped.length)
      out.push(`<p>Left out of the plan:</p>${list(p.skipped.map((s) => `${codeEl(s.stepId)}: ${esc(s.reason)}`))}`);
  } else out.push(`<p>No mitigation was planned. Recommendation: ${esc(e.recommendation)}.</p>`);

  out.push('<h2>Actions</h2>');
  if (r.actions.length) {
    if (e.rollbackKey !== undefined)
      out.push(`<p>Episode rollback key ${codeEl(e.rollbackKey)} undoes everything below.</p>`);
    out.push(
      '<table class="actions"><thead><tr><th>applied</th><th>level</th><th>step</th><th>control</th>' +
        '<th>set to</th><th>was</th><th>rollback key</th><th>rolled back</th></tr></thead><tbody>',
    );
    for (const x of r.actions) {
      const back =
        x.rolledBackAt !== undefined
          ? esc(clock(x.rolledBackAt, e.start, true))
          : x.rollbackSkipped !== undefined
            ? `skipped: ${esc(x.rollbackSkipped)}`
            : 'still applied';
      out.push(
        `<tr><td>${esc(clock(x.appliedAt, e.start, true))}</td><td>${esc(x.level)}</td><td>${esc(x.title)}</td><td>` +
          `${codeEl(x.control)}${x.actedVia ? ` (${esc(x.actedVia)})` : ''}</td><td>${codeEl(value(x.value))}` +
          `</td><td>${codeEl(value(x.previous))}</td><td>${codeEl(x.rollbackKey)}</td><td>${back}</td></tr>`,
      );
    }
    out.push('</tbody></table>');
  } else {
    const nothing =
      r.policy && !r.policy.allowed
        ? 'Nothing was applied: the guardrails did not allow automatic mitigation.'
        : 'Nothing was applied.';
    out.push(`<p>${nothing}</p>`);
  }

  out.push('<h2>Recovery</h2>');
  out.push(`<p>${esc(r.stabilisation.description)}.</p>`);
  const after: string[] = [];
  if (r.figures.afterAction) after.push(`mean after the first action ${unit(r.figures.afterAction.mean)}`);
  if (r.figures.settled)
    after.push(`settled at ${unit(r.figures.settled.mean)} (expected ${unit(b.expected)} at detection)`);
  if (after.length) out.push(`<p>${esc(`Peak ${unit(b.observed)}; ${after.join('; ')}.`)}</p>`);
  const execution = r.execution
    ? ` Execution ${codeEl(r.execution.name)}${r.execution.status ? `: ${esc(r.execution.status)}` : ''}.`
    : '';
  out.push(
    `<p>Outcome: ${r.outcome ? `<strong>${esc(r.outcome)}</strong>: ${esc(outcomeDetail(r))}` : 'none recorded'}.` +
      `${execution}</p>`,
  );

  out.push(...controlHtml(r));

  const costish = e.category === 'cost';
  out.push(`<h2>${costish ? 'Cost effect and savings' : 'Effect and excess avoided'}</h2>`);
  if (r.costEffect) {
    const cls = r.costEffect.percent * (e.badDirection === 'down' ? -1 : 1) <= 0 ? 'good' : 'bad';
    out.push(
      `<p>${costish ? 'Cost effect' : 'Effect'}: <span class="figure ${cls}">${esc(pct(r.costEffect.percent))}` +
        `</span>: ${esc(r.costEffect.description)}.</p>`,
    );
  } else
    out.push(
      `<p>No before/after comparison: ` +
        `${r.actions.length ? 'no minute data on both sides of the first action' : 'no action was applied'}.</p>`,
    );
  out.push(...savingsHtml(r.savings));

  out.push(
    '<h2>Timeline</h2>',
    '<table class="timeline"><thead><tr><th>time (UTC)</th><th>event</th><th>rollback key</th></tr></thead><tbody>',
  );
  for (const t of r.timeline)
    out.push(
      `<tr class="${esc(t.kind)}"><td>${esc(clock(t.at, e.start, true).replace(' UTC', ''))}</td><td>${esc(t.text)}` +
        `</td><td>${t.rollbackKey !== undefined ? codeEl(t.rollbackKey) : ''}</td></tr>`,
    );
  out.push('</tbody></table>');
  return out;
}

/** Seed 004 §F: the 10-minute control target and, for a cost episode, the 24 h cost correction. */
function controlHtml(r: EpisodeReport): string[] {
  if (r.controlTarget === undefined) return [];
  const out = ['<h2>Control targets (seed 004 §F)</h2>'];
  const t = r.controlTarget;
  if (!t) {
    out.push('<p>No action was applied: the 10-minute control target and the 24 h cost correction do not apply.</p>');
    return out;
  }
  const verdict = (v: string) =>
    `<span class="figure ${v === 'met' ? 'good' : v === 'missed' ? 'bad' : ''}">${esc(v)}</span>`;
  out.push(`<p>10-minute control target: ${verdict(t.verdict)}: ${esc(t.description)}.</p>`);
  const c = r.costCorrection;
  if (c) out.push(`<p>24 h cost correction: ${verdict(c.verdict)}: ${esc(c.description)}.</p>`);
  out.push(`<p>Method: ${esc(t.method)}</p>`);
  if (c?.applicable)
    out.push(`<p>Cost correction method: ${esc(c.method)}</p>`, `<p>Assumptions:</p>${list(c.assumptions.map(esc))}`);
  return out;
}

/** The episode's incident and its members as known when the report was generated. */
function incidentHtml(inc: ReportIncident, self: string, start: string, generatedAt: string): string[] {
  const out = ['<h2>Incident</h2>'];
  const others = inc.members.filter((m) => m.key !== self);
  if (!others.length) {
    out.push(
      `<p>Incident ${codeEl(inc.id)}: this anomaly only (no other anomaly had joined it by ` +
        `${esc(clock(generatedAt, start))}).</p>`,
    );
    return out;
  }
  out.push(
    `<p>Incident ${codeEl(inc.id)}: ${esc(plural(inc.members.length, 'anomaly', 'anomalies'))} on ` +
      `${esc(plural(inc.tenants.length, 'tenant'))} (${inc.tenants.map(codeEl).join(', ')}), signal` +
      `${inc.signals.length === 1 ? '' : 's'} ${inc.signals.map(codeEl).join(', ')}, as known at ` +
      `${esc(clock(generatedAt, start))}.</p>`,
    '<table class="incident"><thead><tr><th>start</th><th>tenant</th><th>signal</th><th>severity</th><th>key</th>' +
      '</tr></thead><tbody>',
  );
  for (const m of inc.members)
    out.push(
      `<tr${m.key === self ? ' class="self"' : ''}><td>${esc(clock(m.start, start))}</td><td>${codeEl(m.tenant)}` +
        `</td><td>${codeEl(m.signal)}</td><td>${esc(m.severity)}</td><td>${codeEl(m.key)}` +
        `${m.key === self ? ' (this report)' : ''}</td></tr>`,
    );
  out.push('</tbody></table>');
  return out;
}

function legend(): string {
  const item = (colour: string, label: string) =>
    `<span><i class="swatch" style="background:${colour}"></i>${label}</span>`;
  return [
    item('#d32f2f', 'observed'),
    item('#1565c0', 'expected (band shaded)'),
    item('#7b3fa0', 'change'),
    item('#b00020', 'start / detected'),
    item('#1b7f3b', 'action applied'),
    item('#666666', 'rolled back'),
    item('#1565c0', 'stabilised'),
  ].join('');
}

function savingsHtml(s: SavingsEstimate): string[] {
  const out: string[] = [];
  if (!s.estimated)
    out.push(
      `<p>Savings: not estimated (${esc(s.reason)}).` +
        `${s.episodeExcess !== null ? ` Excess over the episode: ${esc(num(s.episodeExcess))}.` : ''}</p>`,
    );
  else if (s.basis === 'cost' && s.amount !== undefined) {
    const excess =
      `Excess spent over the episode: ${usd(s.episodeExcess)}, of which ${usd(s.actualExcess)} after the first ` +
      `action, against ${usd(s.projectedExcess)} had the pre-action rate continued.`;
    out.push(
      `<p>Estimated savings: <span class="figure good">${esc(usd(s.amount))}</span> avoided` +
        `${s.percent === null ? '' : ` (${esc(num(s.percent))}% of the projected excess)`}. ` +
        `${esc(excess)}</p>`,
    );
  } else
    out.push(
      `<p>Excess avoided: <span class="figure good">${s.percent === null ? 'n/a' : esc(`${num(s.percent)}%`)}` +
        `</span> of the projected excess (projected ${esc(num(s.projectedExcess))}, actual ` +
        `${esc(num(s.actualExcess))}).</p>`,
    );
  out.push(`<p>Method: ${esc(s.method)}</p>`, `<p>Assumptions:</p>${list(s.assumptions.map(esc))}`);
  return out;
}

function dailyBody(r: DailyReport): string[] {
  const t = r.totals;
  const out: string[] = [];
  out.push(
    `<h1>Anomaly digest ${esc(r.day)}: ${esc(plural(t.incidents, 'incident'))}, ` +
      `${esc(plural(t.episodes, 'anomaly', 'anomalies'))}, ${t.byDecision.mitigate ?? 0} mitigated, ` +
      `${t.byOutcome.recovered ?? 0} recovered automatically</h1>`,
  );
  out.push(
    `<p class="meta">Range ${esc(r.range.from)} – ${esc(r.range.to)} · report ${codeEl(r.id)} · generated ` +
      `${esc(clock(r.generatedAt))}</p>`,
  );
  if (!t.episodes) {
    out.push('<p>No anomaly episode started in this range.</p>');
    return out;
  }
  const counts = (rec: Record<string, number>) =>
    esc(
      Object.entries(rec)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    );
  out.push('<h2>Summary</h2>');
  out.push(
    list([
      `${esc(plural(t.incidents, 'incident'))} (anomalies that share a cause), ` +
        `${esc(plural(t.episodes, 'anomaly', 'anomalies'))}`,
      `severity: ${counts(t.bySeverity)}`,
      `class: ${counts(t.byClass)}`,
      `decision: ${counts(t.byDecision)}`,
      `mitigation outcome: ${counts(t.byOutcome)}`,
      `estimated savings: <strong>${esc(usd(r.savings.usd))}</strong> (${r.savings.estimated} of ${t.episodes} ` +
        `episodes estimated)`,
      ...controlSummaryHtml(r),
    ]),
  );
  out.push(`<p>Method: ${esc(r.savings.method)} ${esc(r.control?.method ?? '')}</p>`);
  out.push(`<figure>${dailyChart(r)}</figure>`);
  out.push(...costCardHtml(r.costCard, r.day));
  out.push('<h2>Incidents</h2>');
  const byId = new Map(r.episodes.map((e) => [e.id, e]));
  for (const inc of r.incidents) {
    const members = inc.episodes.map((id) => byId.get(id)!);
    out.push(
      `<h3 class="incident" id="${esc(inc.id)}">${esc(clock(inc.firstStart, r.day))} ${codeEl(inc.id)}: ` +
        `${esc(inc.severity)}, ${esc(plural(members.length, 'anomaly', 'anomalies'))} · ` +
        `${names('tenant', inc.tenants.map(codeEl))} · ${names('signal', inc.signals.map(codeEl))}</h3>`,
      '<table class="episodes"><thead><tr><th>start</th><th>tenant</th><th>signal</th><th>change</th>' +
        '<th>class</th><th>severity</th><th>decision</th><th>outcome</th><th>stabilised</th><th>effect</th>' +
        '<th>savings</th><th>report</th></tr></thead><tbody>',
      ...members.map((e) => episodeRowHtml(e, r.day)),
      '</tbody></table>',
    );
  }
  return out;
}

/** The digest's control-target items (seed 004 §F). */
function controlSummaryHtml(r: DailyReport): string[] {
  const c = r.control;
  if (!c) return [];
  const k = c.costCorrection;
  return [
    c.mitigations
      ? `10-minute control target: met by <strong>${c.met} of ${esc(plural(c.met + c.missed, 'mitigation'))}` +
        `</strong> judged${c.metPercent === null ? '' : ` (${esc(num(c.metPercent))}%)`}` +
        `${c.notJudged ? `, ${c.notJudged} not judged` : ''}`
      : '10-minute control target: no mitigation',
    k.applicable
      ? `24 h cost correction (forecast overage ≥ +20%): met by <strong>${k.met} of ${k.applicable}</strong>` +
        `${k.notJudged ? `, ${k.notJudged} not judged` : ''}`
      : '24 h cost correction: no mitigated cost episode with a forecast overage of +20% or more',
  ];
}

/** Seed 004 §G: forecast vs actual per period and tenant, and each mitigation's before/after and savings. */
function costCardHtml(card: CostCard | undefined, day: string): string[] {
  if (!card) return [];
  const out = ['<h2>Cost card</h2>'];
  const signed = (v: number) => (v > 0 ? `+${usd(v)}` : usd(v));
  for (const p of card.periods) {
    const span = p.period === 'day' ? p.from.slice(0, 10) : `${p.from.slice(0, 10)} – ${p.to.slice(0, 10)}`;
    if (!p.all.minutes) {
      out.push(`<p>${esc(`${p.period} (${span}): no cost-signal minute with a forecast was available.`)}</p>`);
      continue;
    }
    out.push(
      `<p>${esc(
        `${p.period} (${span}): forecast ${usd(p.all.forecast)}, actual ${usd(p.all.actual)} (` +
          `${signed(p.all.difference)}, ${pct(p.all.differencePercent)}) over ${plural(p.all.minutes, 'minute')} of ` +
          `data; savings of the mitigations started in it: ${usd(p.savings)}.`,
      )}</p>`,
      '<table class="cost"><thead><tr><th>tenant</th><th>forecast</th><th>actual</th><th>difference</th>' +
        '<th>minutes</th></tr></thead><tbody>',
      ...p.tenants.map(
        (x) =>
          `<tr><td>${codeEl(x.tenant)}</td><td>${esc(usd(x.forecast))}</td><td>${esc(usd(x.actual))}</td><td>` +
          `${esc(`${signed(x.difference)} (${pct(x.differencePercent)})`)}</td><td>${x.minutes}</td></tr>`,
      ),
      '</tbody></table>',
    );
  }
  if (card.mitigations.length)
    out.push(
      '<table class="mitigations"><thead><tr><th>mitigation</th><th>first action</th><th>before, per minute</th>' +
        '<th>after, per minute</th><th>change</th><th>savings</th></tr></thead><tbody>',
      ...card.mitigations.map(
        (m) =>
          `<tr><td>${codeEl(m.tenant)} ${codeEl(m.signal)}</td><td>${esc(clock(m.firstActionAt, day))}</td><td>` +
          `${m.before ? esc(usd(m.before.perMinute)) : '-'}</td><td>${m.after ? esc(usd(m.after.perMinute)) : '-'}` +
          `</td><td>${esc(pct(m.differencePercent))}</td><td>` +
          `${m.savings === null ? esc(`n/a (${m.reason ?? 'not estimated'})`) : esc(usd(m.savings))}</td></tr>`,
      ),
      '</tbody></table>',
    );
  out.push(`<p>Method: ${esc(card.method)}</p>`);
  if (card.ignoredSignals.length)
    out.push(`<p>Not cost signals, left out: ${card.ignoredSignals.map(codeEl).join(', ')}.</p>`);
  return out;
}

function episodeRowHtml(e: DailyEpisodeRow, day: string): string {
  const savings = savingsCell(e.savings);
  const link =
    e.reportPrefix !== undefined
      ? `<a href="${esc(relativeFromDigest(e.reportPrefix))}report.html">${esc(e.reportId ?? 'report')}</a>`
      : '-';
  return (
    `<tr><td>${esc(clock(e.start, day))}</td><td>${codeEl(e.tenant)}</td><td>${codeEl(e.signal)}</td><td>` +
    `${esc(e.change)}</td><td>${esc(e.class)}</td><td>${esc(e.severity)}</td><td>${esc(e.decision)}</td><td>` +
    `${esc(e.outcome ?? '-')}</td><td>${e.stabilisedMinutes === null ? '-' : esc(`${e.stabilisedMinutes} min`)}` +
    `</td><td>${esc(pct(e.costEffectPercent))}</td><td>${esc(savings)}</td><td>${link}</td></tr>`
  );
}

/** Digest and episode objects share `reports/`: a relative link works in S3 and in local copies alike. */
function relativeFromDigest(prefix: string): string {
  return `../../../../${prefix.replace(/^reports\//, '')}`;
}
