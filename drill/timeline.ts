/**
 * The game day's timeline picture: requests and errors per second, per region, with the moments of loss,
 * failover, promotion and switchback marked, as an SVG file any browser or image viewer opens.
 */
import { READ_ONLY_CACHE_MESSAGE, READ_ONLY_DATABASE_MESSAGE, READ_ONLY_FILES_MESSAGE } from '../service/src/errors';
import {
  READ_ONLY_MESSAGE as CATALOG_READ_ONLY_MESSAGE,
  UNAVAILABLE_MESSAGE as CATALOG_UNAVAILABLE_MESSAGE,
} from '../services/catalog/src/catalog';
import { WRITE_OPERATIONS, type RequestRecord } from './load';
import { CATALOG_SERVICE } from './services';

/**
 * The services' messages of a write refused by a read-only store: the reference service's (service/src/errors.ts)
 * and the catalog's (services/catalog/src/catalog.ts).
 */
const READ_ONLY_MESSAGES: readonly string[] = [
  READ_ONLY_DATABASE_MESSAGE,
  READ_ONLY_CACHE_MESSAGE,
  READ_ONLY_FILES_MESSAGE,
  CATALOG_READ_ONLY_MESSAGE,
];

/** A moment to mark on the timeline (drill clock). */
export interface TimelineMark {
  readonly at: number;
  readonly label: string;
}

/** Which region answered a request, from its `x-instance-id` (`i-<region>-...`). */
export function regionOf(record: RequestRecord): 'a' | 'b' | undefined {
  const match = /^i-([ab])-/.exec(record.instanceId ?? '');
  return match ? (match[1] as 'a' | 'b') : undefined;
}

/**
 * Whether a request got the 503 a passive region gives a write (expected there, not a failure of the system): a
 * read-only message, or the catalog's "unavailable" on a write, which is what it answers while its writer
 * endpoint is inactive (it has no fallback to the reader that would let the database say read-only).
 */
export function isReadOnlyRefusal(record: RequestRecord): boolean {
  if (record.status !== 503 || record.message === undefined) return false;
  if (READ_ONLY_MESSAGES.includes(record.message)) return true;
  return (
    record.service === CATALOG_SERVICE &&
    WRITE_OPERATIONS.has(record.op) &&
    record.message === CATALOG_UNAVAILABLE_MESSAGE
  );
}

/**
 * Per-second counts from `origin`: answered by A, by B, writes refused with the read-only 503 (any region), and
 * other failed requests (any region or none).
 */
export function buckets(
  records: readonly RequestRecord[],
  origin: number,
): { seconds: number; a: number[]; b: number[]; refused: number[]; errors: number[] } {
  const last = Math.max(origin, ...records.map((r) => r.end));
  const seconds = Math.max(1, Math.ceil((last - origin) / 1000));
  const a = new Array<number>(seconds).fill(0);
  const b = new Array<number>(seconds).fill(0);
  const errors = new Array<number>(seconds).fill(0);
  const refused = new Array<number>(seconds).fill(0);
  for (const r of records) {
    const i = Math.min(seconds - 1, Math.max(0, Math.floor((r.end - origin) / 1000)));
    if (isReadOnlyRefusal(r)) refused[i]++;
    else if (!r.ok) errors[i]++;
    else if (regionOf(r) === 'a') a[i]++;
    else if (regionOf(r) === 'b') b[i]++;
  }
  return { seconds, a, b, refused, errors };
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The SVG picture of `records` (drill clock, from `origin`) with `marks`. */
export function renderTimeline(
  records: readonly RequestRecord[],
  origin: number,
  marks: readonly TimelineMark[],
  title: string,
): string {
  const { seconds, a, b, refused, errors } = buckets(records, origin);
  const width = 960;
  const height = 420;
  const left = 60;
  const right = 20;
  const top = 50;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...a, ...b, ...refused, ...errors);
  const x = (second: number) => left + (second / seconds) * plotW;
  const y = (count: number) => top + plotH - (count / max) * plotH;
  const line = (values: number[], color: string, name: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${values
      .map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`)
      .join(' ')}"><title>${name}</title></polyline>`;
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(max * f));
  const xStep = Math.max(1, Math.ceil(seconds / 12));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    ...yTicks.map(
      (t) =>
        `<line x1="${left}" x2="${width - right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${left - 8}" y="${y(t) + 4}" text-anchor="end">${t}</text>`,
    ),
    ...Array.from({ length: Math.floor(seconds / xStep) + 1 }, (_, i) => i * xStep).map(
      (s) => `<text x="${x(s)}" y="${top + plotH + 18}" text-anchor="middle">${s}s</text>`,
    ),
    `<text x="${left + plotW / 2}" y="${height - 22}" text-anchor="middle">seconds since the start of the game day</text>`,
    `<text x="16" y="${top + plotH / 2}" transform="rotate(-90 16 ${top + plotH / 2})" text-anchor="middle">requests per second</text>`,
    ...marks.map((m, i) => {
      const mx = x((m.at - origin) / 1000);
      return `<line x1="${mx}" x2="${mx}" y1="${top}" y2="${top + plotH}" stroke="#555" stroke-dasharray="4 3"/><text x="${mx + 3}" y="${top + 12 + (i % 4) * 14}" fill="#333">${escapeXml(m.label)}</text>`;
    }),
    line(a, '#1f77b4', 'answered by region A'),
    line(b, '#2ca02c', 'answered by region B'),
    line(refused, '#ff7f0e', 'writes refused with the read-only 503 (expected in a passive region)'),
    line(errors, '#d62728', 'other failed requests (any region)'),
    `<g transform="translate(${width - right - 420},${top - 30})">`,
    '<rect x="0" y="0" width="10" height="10" fill="#1f77b4"/><text x="14" y="10">region A</text>',
    '<rect x="80" y="0" width="10" height="10" fill="#2ca02c"/><text x="94" y="10">region B</text>',
    '<rect x="160" y="0" width="10" height="10" fill="#ff7f0e"/><text x="174" y="10">read-only 503</text>',
    '<rect x="280" y="0" width="10" height="10" fill="#d62728"/><text x="294" y="10">other errors</text>',
    '</g>',
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}
