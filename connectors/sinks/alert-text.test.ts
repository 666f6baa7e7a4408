import { describe, expect, it } from 'vitest';
import { exampleAnomalies } from '../../pipeline/detect/testing.js';
import type { AlertNotification, Anomaly } from '../../pipeline/ports.js';
import { ANOMALY_TYPES } from '../../pipeline/ports.js';
import { featureLine, formatValue } from './alert-text.js';
import { consoleBlock, formatNotification } from './console.js';
import { emailContent } from './email.js';
import { slackMessage } from './slack.js';

function notificationOf(a: Anomaly): AlertNotification {
  return {
    id: `n-${a.type}`,
    groupKey: `${a.warehouse}|${a.type}`,
    warehouse: a.warehouse,
    type: a.type,
    severity: a.severity,
    anomalies: [a],
    suppressed: 0,
  };
}

/** One notification per type, each holding the anomaly the real detector raises in its scenario. */
const examples = Object.values(exampleAnomalies()).map(notificationOf);

describe('formatValue and featureLine', () => {
  it('say a number with its unit', () => {
    expect(formatValue(300, 'units')).toBe('300 units');
    expect(formatValue(-1, 'units')).toBe('-1 unit');
    expect(formatValue(0.84, 'share')).toBe('84%');
    expect(formatValue(2.72, 'ratio')).toBe('2.72×');
    expect(formatValue(5.25, 'hours')).toBe('5.25 h');
    expect(formatValue(1, 'days')).toBe('1 day');
    expect(formatValue(1234.567)).toBe('1,234.57');
    // A unit from a newer producer is shown as a bare number.
    expect(formatValue(3, 'parsecs')).toBe('3');
    expect(featureLine({ name: 'fill_rate', observed: 0.4, expected: 1, unit: 'share' })).toBe(
      'fill_rate: observed 40%, expected 100%',
    );
  });
});

describe('alert text of each anomaly type, as the detector raises it', () => {
  it('covers every type', () => {
    expect(examples.map((n) => n.type).sort()).toEqual([...ANOMALY_TYPES].sort());
  });

  it('never shows a feature equal to its expectation, a fractional count, or a threshold as a feature', () => {
    for (const n of examples) {
      const text = formatNotification(n, { color: false });
      expect(text).not.toMatch(/observed ([-\d.,]+( \w+)?), expected \1(?!\d)/);
      expect(text).not.toMatch(/\d\.\d+ units?\b/);
      expect(text).not.toMatch(/alert_limit|_over_eps|observed 99,/);
    }
  });

  it('console (and the e-mail text): one block per type', async () => {
    const text = examples.map((n) => consoleBlock(n, { color: false })).join('');
    await expect(text).toMatchFileSnapshot('./__snapshots__/alert-text.console.txt');
    for (const n of examples) expect(emailContent(n).text).toBe(formatNotification(n, { color: false }));
  });

  it('Slack: the fallback, the header and the anomaly section per type', async () => {
    const text = examples
      .map((n) => {
        const m = slackMessage(n);
        const texts = m.blocks.flatMap((b) =>
          b.type === 'header' || (b.type === 'section' && b.text.text.startsWith('*Why:*'))
            ? [b.text.text]
            : [],
        );
        return [`## ${n.type}`, `fallback: ${m.text}`, ...texts, ''].join('\n');
      })
      .join('\n');
    await expect(text).toMatchFileSnapshot('./__snapshots__/alert-text.slack.txt');
  });

  it('e-mail: the subject and HTML per type', async () => {
    const text = examples
      .map((n) => {
        const { subject, html } = emailContent(n);
        return `## ${n.type}\nSubject: ${subject}\n${html}\n`;
      })
      .join('\n');
    await expect(text).toMatchFileSnapshot('./__snapshots__/alert-text.email.txt');
  });
});
