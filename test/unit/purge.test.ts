import { describe, expect, it } from "vitest";
import { COMPRESSED_MARK, STATE_METADATA_KEY } from "../../shared/rules/decision.ts";
import { BACKUP_KEY, SHA256, SOURCE_ETAG, SOURCE_KEY, SOURCE_SIZE } from "../../shared/rules/output-metadata.ts";
import { type OutputHead, type PurgeRecord, planPurge, reclaimableBytes, tieBackups } from "../../shared/rules/purge.ts";
import type { ListedObject } from "../../shared/rules/status.ts";

const PREFIX = "orig_video_to_delete/";
const NOW = new Date("2026-06-30T12:00:00Z");
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);

// One compressed output a.mp4 made from a.avi, its backup, and the record tying them.
const backup: ListedObject = { key: `${PREFIX}a.avi`, size: 1000, etag: '"b1"', lastModified: daysAgo(40) };
const record: PurgeRecord = {
  key: "a.mp4", size: 300, etag: '"o1"', state: "compressed", sha256: "abc",
  source: { key: "a.avi", size: 1000, etag: '"s1"', backupKey: `${PREFIX}a.avi`, backupEtag: '"b1"' },
};
const head: OutputHead = {
  key: "a.mp4", size: 300, etag: '"o1"',
  metadata: {
    [STATE_METADATA_KEY]: COMPRESSED_MARK, [SHA256]: "abc", [SOURCE_KEY]: "a.avi", [SOURCE_ETAG]: '"s1"', [SOURCE_SIZE]: "1000",
    [BACKUP_KEY]: encodeURIComponent(`${PREFIX}a.avi`),
  },
};

type Case = { name: string; backup?: Partial<ListedObject>; record?: Partial<PurgeRecord> | null; head?: Partial<OutputHead> | null; meta?: Record<string, string | undefined>; days?: number; keep?: RegExp };
const cases: Case[] = [
  { name: "a tied, verified backup older than N days goes" },
  { name: "--older-than 0 takes any age", backup: { lastModified: daysAgo(0) }, days: 0 },
  { name: "--older-than 0 takes one stamped a moment ahead (LastModified rounded up)", backup: { lastModified: new Date(NOW.getTime() + 900) }, days: 0 },
  { name: "too young stays", backup: { lastModified: daysAgo(3) }, keep: /younger than 30 day/ },
  { name: "no record names it (an apply move, a stray file)", record: null, keep: /no compressed output names it/ },
  { name: "the record is not compressed", record: { state: "encoding" }, keep: /no compressed output names it/ },
  { name: "a record naming a key that is no backup name of its source", record: { source: { ...record.source!, key: "z.avi" } }, keep: /not a backup name of z\.avi/ },
  { name: "a backup of another size than the original", backup: { size: 999 }, keep: /size differs/ },
  { name: "a backup replaced since the publish (ETag)", backup: { etag: '"b2"' }, keep: /changed since the publish/ },
  { name: "a legacy record without the backup's ETag is tied by size", record: { source: { ...record.source!, backupEtag: undefined } } },
  { name: "no SHA-256 recorded", record: { sha256: undefined }, keep: /no SHA-256/ },
  { name: "the output is gone", head: null, keep: /is not there/ },
  { name: "the output was replaced (ETag)", head: { etag: '"o2"' }, keep: /changed since it was recorded/ },
  { name: "the output has no compressed tag", meta: { [STATE_METADATA_KEY]: undefined }, keep: /compressed tag/ },
  { name: "the output's SHA-256 differs from the record's", meta: { [SHA256]: "def" }, keep: /SHA-256 of a\.mp4 differs/ },
  { name: "the output names another source", meta: { [SOURCE_KEY]: "b.avi" }, keep: /another source/ },
  { name: "the output names another backup", meta: { [BACKUP_KEY]: encodeURIComponent(`${PREFIX}a (2).avi`) }, keep: /names orig_video_to_delete\/a \(2\)\.avi/ },
  { name: "an older output without a backup name means the plain one", meta: { [BACKUP_KEY]: undefined } },
  { name: "no date listed", backup: { lastModified: undefined }, keep: /no date/ },
  { name: "no ETag listed to delete by", backup: { etag: undefined }, record: { source: { ...record.source!, backupEtag: undefined } }, keep: /no ETag/ },
];

describe("planPurge", () => {
  it.each(cases)("$name", (c) => {
    const b = { ...backup, ...c.backup };
    const r = c.record === null ? [] : [{ ...record, ...c.record }];
    const metadata = Object.fromEntries(Object.entries({ ...head.metadata, ...c.meta }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const heads = new Map(c.head === null ? [] : [["a.mp4", { ...head, metadata, ...c.head }]]);
    const [d] = planPurge({ backups: [b], records: r, heads, now: NOW, olderThanDays: c.days ?? 30, backupPrefix: PREFIX });
    if (c.keep) {
      expect(d).toMatchObject({ action: "keep", key: b.key });
      expect(d.action === "keep" && d.why).toMatch(c.keep);
    } else {
      expect(d).toEqual({ action: "delete", key: b.key, size: b.size, etag: b.etag, output: "a.mp4" });
    }
  });

  it("a numbered backup is tied when its record and output name it", () => {
    const b2 = { ...backup, key: `${PREFIX}a (2).avi`, etag: '"b3"' };
    const r2 = { ...record, source: { ...record.source!, backupKey: b2.key, backupEtag: '"b3"' } };
    const h2 = { ...head, metadata: { ...head.metadata, [BACKUP_KEY]: encodeURIComponent(b2.key) } };
    const plan = planPurge({ backups: [backup, b2], records: [r2], heads: new Map([["a.mp4", h2]]), now: NOW, olderThanDays: 1, backupPrefix: PREFIX });
    expect(plan.map((d) => [d.key, d.action])).toEqual([[`${PREFIX}a (2).avi`, "delete"], [`${PREFIX}a.avi`, "keep"]]);
  });
});

describe("tieBackups", () => {
  it("counts as reclaimable only the backups tied to a listed output", () => {
    const stray = { key: `${PREFIX}x.avi`, size: 77, etag: '"x"' };
    const ties = tieBackups([backup, stray], [record], new Map([["a.mp4", { size: 300, etag: '"o1"' }]]), PREFIX);
    expect(reclaimableBytes(ties)).toBe(1000);
    expect(reclaimableBytes(tieBackups([backup], [record], new Map([["a.mp4", { size: 300, etag: '"o9"' }]]), PREFIX))).toBe(0);
  });
});
