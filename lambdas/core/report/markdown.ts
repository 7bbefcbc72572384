import { TRIGGER_WORDS, changeLabel, outcomeDetail } from './episode.js';
import { clock, names, num, pct, plural, savingsCell, usd, value, withUnit } from './format.js';
import type {
  CostCard,
  DailyEpisodeRow,
  DailyReport,
  EpisodeReport,
  Report,
  ReportChange,
  ReportIncident,
  SavingsEstimate,
} from './model.js';

/** report.md: the RCA as a narrative an on-call engineer reads top to bottom. */
export function renderMarkdown(report: Report): string {
  return (report.kind === 'episode' ? episodeMarkdown(report) : dailyMarkdown(report)).join('\n') + '\n';
}

/** Text from data: nothing in it may open a link, an HTML tag or a table cell. */
function text(s: string): string {
  return s
    .replace(/\s+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`[\]|])/g, '\\$1');
}

/** An identifier from data as inline code (a backtick inside gets a longer fence). */
function code(s: string): string {
  const flat = s.replace(/\s+/g, ' ');
  const fence = flat.includes('`') ? '``' : '`';
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat.replace(/\|/g, '\\|')}${pad}${fence}`;
}

function episodeMarkdown(r: EpisodeReport): string[] {
  const e = r.episode;
  const unit = (v: number) => withUnit(v, e.unit);
  const b = r.figures.before;
  const out: string[] = [];
  const headline =
    r.stabilisation.minutes !== null
      ? `stabilised ${r.stabilisation.minutes} min after ` +
        `${r.stabilisation.from === 'first-action' ? 'the first action' : 'detection'}`
      : 'not stabilised';
  out.push(`# ${text(e.tenant)} ${text(e.signal)} ${text(e.change)} (${r.classification.class}): ${headline}`, '');
  out.push(
    `**${e.severity}** · tenant ${code(e.tenant)} · signal ${code(e.signal)} (` +
      `${[e.unit, e.category].filter(Boolean).join(', ')}) · ` +
      `${e.region !== undefined ? `region ${code(e.region)} · ` : ''}${e.start.slice(0, 10)}  `,
    `Episode ${code(e.id)}${r.incident ? ` · incident ${code(r.incident.id)}` : ''} · report ${code(r.id)} · ` +
      `generated ${clock(r.generatedAt)}`,
    '',
  );

  out.push('## What happened', '');
  const moved = b.observed >= b.expected ? 'rose' : 'fell';
  const side = b.observed >= b.expected ? 'above' : 'below';
  out.push(
    `${text(e.tenant)} ${text(e.signal)} ${moved} ${text(e.change)} ${side} its expected ${unit(b.expected)}, ` +
      `peaking at ${unit(b.observed)} (expected band ${num(b.band.lo)}–${unit(b.band.hi)}). ` +
      `The anomaly started at ${clock(e.start)} and was detected at ${clock(e.detectedAt, e.start)} (` +
      `${TRIGGER_WORDS[e.trigger]}, score ${num(e.score)}); decision: **${e.decision}**.`,
    '',
  );

  if (r.incident) out.push(...incidentMarkdown(r.incident, e.id, e.start, r.generatedAt));

  out.push(`## Classification: ${r.classification.class}`, '');
  if (r.classification.evidence.length)
    out.push('Why:', '', ...r.classification.evidence.map((x) => `- ${text(x)}`), '');
  else out.push('No evidence was recorded with the anomaly.', '');

  out.push('## Changes', '');
  if (r.correlatedChanges.length)
    out.push(
      `Correlated at detection (within ±30 min of the start): ` +
        `${r.correlatedChanges.map((c) => text(changeLabel(c))).join('; ')}.`,
      '',
    );
  else out.push('No change record was correlated at detection (none within ±30 min of the start).', '');
  if (r.changes.length)
    out.push(
      'In the window:',
      '',
      ...r.changes.map(
        (c) =>
          `- ${clock(c.at, e.start)} ${text(changeLabel(c))}${c.tenant === '*' ? ' (all tenants)' : ''}: ` +
          `${offsetWords(c)}`,
      ),
      '',
    );

  out.push('## Policy decisions', '');
  if (r.policy) {
    const p = r.policy;
    out.push(
      `Playbook ${code(p.playbook.id)} (${text(p.playbook.title)}), chosen by ${p.selectedBy}; plan ` +
        `${code(p.planId)}. Automatic mitigation: **${p.allowed ? 'allowed' : 'not allowed'}**.`,
      '',
    );
    if (p.reasons.length) out.push(...p.reasons.map((x) => `- ${text(x)}`), '');
    if (p.stages.length) out.push('Planned stages:', '');
    for (const s of p.stages)
      out.push(
        `- ${s.level} stage (${s.allowed ? 'allowed' : 'not allowed'}): ` +
          `${s.steps.length ? s.steps.map((x) => code(x.stepId)).join(', ') : 'no applicable steps'}`,
      );
    if (p.stages.length) out.push('');
    if (p.skipped.length)
      out.push('Left out of the plan:', '', ...p.skipped.map((s) => `- ${code(s.stepId)}: ${text(s.reason)}`), '');
  } else out.push(`No mitigation was planned. Recommendation: ${text(e.recommendation)}.`, '');

  out.push('## Actions', '');
  if (r.actions.length) {
    if (e.rollbackKey !== undefined)
      out.push(`Episode rollback key ${code(e.rollbackKey)} undoes everything below.`, '');
    out.push(
      '| applied | level | step | control | set to | was | rollback key | rolled back |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const x of r.actions) {
      const back =
        x.rolledBackAt !== undefined
          ? clock(x.rolledBackAt, e.start, true)
          : x.rollbackSkipped !== undefined
            ? `skipped: ${text(x.rollbackSkipped)}`
            : 'still applied';
      out.push(
        `| ${clock(x.appliedAt, e.start, true)} | ${x.level} | ${text(x.title)} | ${code(x.control)}` +
          `${x.actedVia ? ` (${text(x.actedVia)})` : ''} | ${code(value(x.value))} | ${code(value(x.previous))} | ` +
          `${code(x.rollbackKey)} | ${back} |`,
      );
    }
    out.push('');
  } else
    out.push(
      r.policy && !r.policy.allowed
        ? 'Nothing was applied: the guardrails did not allow automatic mitigation.'
        : 'Nothing was applied.',
      '',
    );

  out.push('## Recovery', '');
  out.push(`${text(r.stabilisation.description)}.`, '');
  const after: string[] = [];
  if (r.figures.afterAction) after.push(`mean after the first action ${unit(r.figures.afterAction.mean)}`);
  if (r.figures.settled)
    after.push(`settled at ${unit(r.figures.settled.mean)} (expected ${unit(b.expected)} at detection)`);
  if (after.length) out.push(`Peak ${unit(b.observed)}; ${after.join('; ')}.`, '');
  const execution = r.execution
    ? ` Execution ${code(r.execution.name)}${r.execution.status ? `: ${text(r.execution.status)}` : ''}.`
    : '';
  out.push(`Outcome: ${r.outcome ? `**${r.outcome}**: ${text(outcomeDetail(r))}` : 'none recorded'}.${execution}`, '');

  out.push(...controlMarkdown(r));

  out.push(`## ${e.category === 'cost' ? 'Cost effect and savings' : 'Effect and excess avoided'}`, '');
  if (r.costEffect)
    out.push(
      `${e.category === 'cost' ? 'Cost effect' : 'Effect'}: **${pct(r.costEffect.percent)}**: ` +
        `${text(r.costEffect.description)}.`,
      '',
    );
  else
    out.push(
      `No before/after comparison: ` +
        `${r.actions.length ? 'no minute data on both sides of the first action' : 'no action was applied'}.`,
      '',
    );
  out.push(...savingsMarkdown(r.savings));

  out.push('## Timeline', '', '| time (UTC) | event | rollback key |', '|---|---|---|');
  for (const t of r.timeline)
    out.push(
      `| ${clock(t.at, e.start, true).replace(' UTC', '')} | ${text(t.text)} | ` +
        `${t.rollbackKey !== undefined ? code(t.rollbackKey) : ''} |`,
    );
  return out;
}

/** Seed 004 §F: the 10-minute control target and, for a cost episode, the 24 h cost correction. */
function controlMarkdown(r: EpisodeReport): string[] {
  // A report written before the targets were reported has neither field.
  if (r.controlTarget === undefined) return [];
  const out = ['## Control targets (seed 004 §F)', ''];
  const t = r.controlTarget;
  if (!t) {
    out.push('No action was applied: the 10-minute control target and the 24 h cost correction do not apply.', '');
    return out;
  }
  out.push(`10-minute control target: **${t.verdict}**: ${text(t.description)}.`, '');
  const c = r.costCorrection;
  if (c) out.push(`24 h cost correction: **${c.verdict}**: ${text(c.description)}.`, '');
  out.push(`Method: ${text(t.method)}`, '');
  if (c?.applicable)
    out.push(
      `Cost correction method: ${text(c.method)}`,
      '',
      'Assumptions:',
      '',
      ...c.assumptions.map((x) => `- ${text(x)}`),
      '',
    );
  return out;
}

/** The episode's incident and its members as known when the report was generated. */
function incidentMarkdown(inc: ReportIncident, self: string, start: string, generatedAt: string): string[] {
  const out = ['## Incident', ''];
  const others = inc.members.filter((m) => m.key !== self);
  if (!others.length) {
    out.push(
      `Incident ${code(inc.id)}: this anomaly only (no other anomaly had joined it by ${clock(generatedAt, start)}).`,
      '',
    );
    return out;
  }
  out.push(
    `Incident ${code(inc.id)}: ${plural(inc.members.length, 'anomaly', 'anomalies')} on ` +
      `${plural(inc.tenants.length, 'tenant')} (${inc.tenants.map(code).join(', ')}), signal` +
      `${inc.signals.length === 1 ? '' : 's'} ${inc.signals.map(code).join(', ')}, as known at ` +
      `${clock(generatedAt, start)}.`,
    '',
    '| start | tenant | signal | severity | key |',
    '|---|---|---|---|---|',
  );
  for (const m of inc.members)
    out.push(
      `| ${clock(m.start, start)} | ${code(m.tenant)} | ${code(m.signal)} | ${m.severity} | ${code(m.key)}` +
        `${m.key === self ? ' (this report)' : ''} |`,
    );
  out.push('');
  return out;
}

function offsetWords(c: ReportChange): string {
  if (c.offsetMinutes === 0) return 'at the start of the anomaly';
  return c.offsetMinutes > 0
    ? `${c.offsetMinutes} min before the anomaly started`
    : `${-c.offsetMinutes} min after the anomaly started`;
}

function savingsMarkdown(s: SavingsEstimate): string[] {
  const out: string[] = [];
  if (!s.estimated)
    out.push(
      `Savings: not estimated (${text(s.reason)}).` +
        `${s.episodeExcess !== null ? ` Excess over the episode: ${num(s.episodeExcess)}.` : ''}`,
      '',
    );
  else if (s.basis === 'cost' && s.amount !== undefined)
    out.push(
      `Estimated savings: **${usd(s.amount)}** avoided` +
        `${s.percent === null ? '' : ` (${num(s.percent)}% of the projected excess)`}. Excess spent over the ` +
        `episode: ${usd(s.episodeExcess)}, of which ${usd(s.actualExcess)} after the first action, against ` +
        `${usd(s.projectedExcess)} had the pre-action rate continued.`,
      '',
    );
  else
    out.push(
      `Excess avoided: **${s.percent === null ? 'n/a' : `${num(s.percent)}%`}** of the projected excess (projected ` +
        `${num(s.projectedExcess)}, actual ${num(s.actualExcess)}).`,
      '',
    );
  out.push(`Method: ${text(s.method)}`, '', 'Assumptions:', '', ...s.assumptions.map((x) => `- ${text(x)}`), '');
  return out;
}

function dailyMarkdown(r: DailyReport): string[] {
  const t = r.totals;
  const out: string[] = [];
  const mitigated = t.byDecision.mitigate ?? 0;
  const recovered = t.byOutcome.recovered ?? 0;
  out.push(
    `# Anomaly digest ${r.day}: ${plural(t.incidents, 'incident')}, ${plural(t.episodes, 'anomaly', 'anomalies')}, ` +
      `${mitigated} mitigated, ${recovered} recovered automatically`,
    '',
  );
  out.push(`Range ${r.range.from} – ${r.range.to} · report ${code(r.id)} · generated ${clock(r.generatedAt)}`, '');
  if (!t.episodes) {
    out.push('No anomaly episode started in this range.');
    return out;
  }
  out.push('## Summary', '');
  const list = (rec: Record<string, number>) =>
    Object.entries(rec)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  out.push(
    `- ${plural(t.incidents, 'incident')} (anomalies that share a cause), ` +
      `${plural(t.episodes, 'anomaly', 'anomalies')}`,
    `- severity: ${list(t.bySeverity)}`,
    `- class: ${list(t.byClass)}`,
    `- decision: ${list(t.byDecision)}`,
    `- mitigation outcome: ${list(t.byOutcome)}`,
  );
  out.push(
    `- estimated savings: **${usd(r.savings.usd)}** (${r.savings.estimated} of ${t.episodes} episodes estimated)`,
    ...controlSummary(r),
    '',
    `Method: ${text(r.savings.method)} ${text(r.control.method)}`,
    '',
  );
  out.push(...costCardMarkdown(r.costCard, r.day));
  out.push('## Incidents', '');
  const byId = new Map(r.episodes.map((e) => [e.id, e]));
  for (const inc of r.incidents) {
    const members = inc.episodes.map((id) => byId.get(id)!);
    out.push(
      `### ${clock(inc.firstStart, r.day)} ${code(inc.id)}: ${inc.severity}, ` +
        `${plural(members.length, 'anomaly', 'anomalies')} · ${names('tenant', inc.tenants.map(code))} · ` +
        `${names('signal', inc.signals.map(code))}`,
      '',
      '| start | tenant | signal | change | class | severity | decision | outcome | stabilised | effect | savings | ' +
        'report |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...members.map((e) => episodeRow(e, r.day)),
      '',
    );
  }
  out.pop();
  return out;
}

/** The digest's control-target lines (seed 004 §F); empty for a digest written before they were reported. */
function controlSummary(r: DailyReport): string[] {
  const c = r.control;
  if (!c) return [];
  const judged = c.met + c.missed;
  const notJudged = c.notJudged ? `, ${c.notJudged} not judged` : '';
  const k = c.costCorrection;
  return [
    c.mitigations
      ? `- 10-minute control target: met by **${c.met} of ${plural(judged, 'mitigation')}** judged` +
        `${c.metPercent === null ? '' : ` (${num(c.metPercent)}%)`}${notJudged}`
      : '- 10-minute control target: no mitigation',
    k.applicable
      ? `- 24 h cost correction (forecast overage ≥ +20%): met by **${k.met} of ${k.applicable}**` +
        `${k.notJudged ? `, ${k.notJudged} not judged` : ''}`
      : '- 24 h cost correction: no mitigated cost episode with a forecast overage of +20% or more',
  ];
}

/** Seed 004 §G: forecast vs actual per period and tenant, and each mitigation's before/after and savings. */
function costCardMarkdown(card: CostCard | undefined, day: string): string[] {
  if (!card) return [];
  const out = ['## Cost card', ''];
  const signed = (v: number) => (v > 0 ? `+${usd(v)}` : usd(v));
  for (const p of card.periods) {
    const span = p.period === 'day' ? p.from.slice(0, 10) : `${p.from.slice(0, 10)} – ${p.to.slice(0, 10)}`;
    if (!p.all.minutes) {
      out.push(`${p.period} (${span}): no cost-signal minute with a forecast was available.`, '');
      continue;
    }
    out.push(
      `${p.period} (${span}): forecast ${usd(p.all.forecast)}, actual ${usd(p.all.actual)} (` +
        `${signed(p.all.difference)}, ${pct(p.all.differencePercent)}) over ${plural(p.all.minutes, 'minute')} of ` +
        'data; ' +
        `savings of the mitigations started in it: ${usd(p.savings)}.`,
      '',
      '| tenant | forecast | actual | difference | minutes |',
      '|---|---|---|---|---|',
      ...p.tenants.map(
        (x) =>
          `| ${code(x.tenant)} | ${usd(x.forecast)} | ${usd(x.actual)} | ${signed(x.difference)} (` +
          `${pct(x.differencePercent)}) | ${x.minutes} |`,
      ),
      '',
    );
  }
  if (card.mitigations.length)
    out.push(
      '| mitigation | first action | before, per minute | after, per minute | change | savings |',
      '|---|---|---|---|---|---|',
      ...card.mitigations.map(
        (m) =>
          `| ${code(m.tenant)} ${code(m.signal)} | ${clock(m.firstActionAt, day)} | ` +
          `${m.before ? usd(m.before.perMinute) : '-'} | ${m.after ? usd(m.after.perMinute) : '-'} | ` +
          `${pct(m.differencePercent)} | ` +
          `${m.savings === null ? `n/a (${text(m.reason ?? 'not estimated')})` : usd(m.savings)} |`,
      ),
      '',
    );
  out.push(`Method: ${text(card.method)}`, '');
  if (card.ignoredSignals.length)
    out.push(`Not cost signals, left out: ${card.ignoredSignals.map(code).join(', ')}.`, '');
  return out;
}

function episodeRow(e: DailyEpisodeRow, day: string): string {
  const savings = savingsCell(e.savings);
  return (
    `| ${clock(e.start, day)} | ${code(e.tenant)} | ${code(e.signal)} | ${text(e.change)} | ${e.class} | ` +
    `${e.severity} | ${e.decision} | ${e.outcome ?? '-'} | ` +
    `${e.stabilisedMinutes === null ? '-' : `${e.stabilisedMinutes} min`} | ${pct(e.costEffectPercent)} | ` +
    `${savings} | ${e.reportPrefix !== undefined ? code(`${e.reportPrefix}report.md`) : '-'} |`
  );
}
