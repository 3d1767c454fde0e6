/**
 * The goals of the speed work, each checked against this run's figures: its ratio, its bound
 * and whether it is reached. Every ratio is between figures of the same run (the machine
 * is shared, so only ratios within one run mean anything).
 */
import type { Figures, Row } from './report.js';
import { BASE_TARGET } from '../targets.js';

type Pick = (figures: Figures) => number | undefined;

const last = (curve: Figures['idleWs']) => curve?.perLevel[curve.perLevel.length - 1];

interface Goal {
  readonly label: string;
  readonly value: number | undefined;
  readonly bound: number | undefined;
  readonly rule: '≥' | '≤';
  readonly factor: number;
  readonly against: string;
  /** 'ratio' (value ÷ bound against factor) or 'plus' (value − bound against factor, in the unit). */
  readonly kind?: 'ratio' | 'plus';
  readonly unit?: string;
}

function render(goal: Goal): string {
  const { label, value, bound, rule, factor, against } = goal;
  if (value === undefined || bound === undefined || !Number.isFinite(value) || !Number.isFinite(bound)) {
    return `- ${label}: not measured`;
  }
  if (goal.kind === 'plus') {
    const difference = value - bound;
    const met = rule === '≤' ? difference <= factor : difference >= factor;
    const sign = difference >= 0 ? '+' : '−';
    return `- ${label}: ${value.toFixed(1)} ${goal.unit} (${against} ${bound.toFixed(1)}, ${sign}${Math.abs(difference).toFixed(1)}; goal ${rule} +${factor}) — ${met ? 'reached' : 'NOT reached'}`;
  }
  const ratio = value / bound;
  const met = rule === '≥' ? ratio >= factor : ratio <= factor;
  return `- ${label}: ${ratio.toFixed(2)} × ${against} (goal ${rule} ${factor}) — ${met ? 'reached' : 'NOT reached'}`;
}

export function goals(rows: readonly Row[]): string[] {
  const by = (name: string) => rows.find((row) => row.target.name === name)?.figures;
  // Peers are other projects: neither the limits nor Switchyard's own other endpoints.
  const peers = rows.filter(
    (row) => !row.target.isLimit && row.target.isSwitchyard !== true && row.target.name !== BASE_TARGET,
  );
  const best = (pick: Pick) => {
    let top: { value: number; label: string } | undefined;
    for (const row of peers) {
      const value = pick(row.figures);
      if (value !== undefined && Number.isFinite(value) && (top === undefined || value > top.value)) {
        top = { value, label: row.target.label };
      }
    }
    return top;
  };
  const base = by(BASE_TARGET);
  const sacSock = by('switchyard-sacsock');
  const plain = by('switchyard-plain');
  const plainFast = by('switchyard-plain-fast');
  const rawWs = by('raw-ws');
  const rawHttp = by('raw-http');
  const engineIo = by('engineio6');
  const a = (f: Figures | undefined) => f?.echoWs?.perSecond;
  const bestPoll = best((f) => f.echoPoll?.perSecond);
  const bestFan = best((f) => f.fanout?.all?.perSecond);
  const bestRoom = best((f) => f.fanout?.room?.perSecond);
  const kibWs = (f: Figures | undefined) => last(f?.idleWs)?.kibPerConnection;
  const idleMib = (f: Figures | undefined) => {
    const idle = (f?.idleWs ?? f?.idlePoll)?.idle;
    return idle === undefined ? undefined : idle / 2 ** 20;
  };
  const list: Goal[] = [
    { label: 'A 0.6 websocket echo', value: a(base), bound: a(rawWs), rule: '≥', factor: 0.95, against: 'raw ws' },
    { label: 'A sac-sock echo', value: a(sacSock), bound: a(rawWs), rule: '≥', factor: 0.95, against: 'raw ws' },
    {
      label: 'A plain endpoint echo (async iterator)',
      value: a(plain),
      bound: a(rawWs),
      rule: '≥',
      factor: 0.9,
      against: 'raw ws',
    },
    {
      label: 'A plain endpoint echo (onMessage)',
      value: a(plainFast),
      bound: a(rawWs),
      rule: '≥',
      factor: 0.9,
      against: 'raw ws',
    },
    {
      label: 'B long-poll echo',
      value: base?.echoPoll?.perSecond,
      bound: bestPoll?.value,
      rule: '≥',
      factor: 1.25,
      against: `best polling peer (${bestPoll?.label ?? '—'})`,
    },
    {
      label: 'B long-poll echo',
      value: base?.echoPoll?.perSecond,
      bound: rawHttp?.echoPoll?.perSecond,
      rule: '≥',
      factor: 0.8,
      against: 'the HTTP limit (node:http requests/s ÷ 2)',
    },
    {
      label: 'C broadcast',
      value: base?.fanout?.all?.perSecond,
      bound: bestFan?.value,
      rule: '≥',
      factor: 3,
      against: `best peer (${bestFan?.label ?? '—'})`,
    },
    {
      label: 'C room',
      value: base?.fanout?.room?.perSecond,
      bound: bestRoom?.value,
      rule: '≥',
      factor: 3,
      against: `best peer (${bestRoom?.label ?? '—'})`,
    },
    {
      label: 'C plain endpoint broadcast',
      value: plain?.fanout?.all?.perSecond,
      bound: base?.fanout?.all?.perSecond,
      rule: '≥',
      factor: 0.9,
      against: 'the 0.6 websocket',
    },
    {
      label: 'D idle websocket (0.6)',
      value: kibWs(base),
      bound: kibWs(rawWs),
      rule: '≤',
      factor: 1.1,
      against: 'raw ws',
    },
    {
      label: 'D idle websocket (plain endpoint)',
      value: kibWs(plain),
      bound: kibWs(rawWs),
      rule: '≤',
      factor: 1.2,
      against: 'raw ws',
    },
    {
      label: 'D idle process RSS',
      value: idleMib(base),
      bound: idleMib(engineIo),
      rule: '≤',
      factor: 10,
      against: 'engine.io 6',
      kind: 'plus',
      unit: 'MiB',
    },
  ];
  const poll = last(base?.idlePoll)?.kibPerConnection;
  return [
    ...list.map(render),
    poll === undefined
      ? '- D idle polling session: not measured'
      : `- D idle polling session: ${poll.toFixed(1)} KiB (goal ≤ 15) — ${poll <= 15 ? 'reached' : 'NOT reached'}`,
  ];
}
