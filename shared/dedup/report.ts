// Groups → the report JSON of DESIGN.md: winner and losers with reasons, per-group metadata, and a
// summary with what each stage took in, let through, read and spent.
import { createHash } from "node:crypto";
import { DedupReport, type DedupGroup } from "../schemas.ts";
import type { Entry } from "./entry.ts";
import type { Group } from "./group.ts";
import type { DedupOptions } from "./options.ts";
import type { StageStat } from "./pipeline.ts";
import { winnerReason } from "./policy.ts";

export type ReportContext = {
  bucket: string;
  options: DedupOptions;
  stages: StageStat[];
  records: number;
  /** When the scan started. */
  startedAt: Date;
  elapsedMs: number;
};

function mediaOf(e: Entry) {
  return {
    width: e.width,
    height: e.height,
    duration_sec: e.durationSec,
    codec: e.codec,
    bitrate: Math.round(e.bitrate),
    ...(e.montageKey ? { montage_key: e.montageKey } : {}),
    ...(e.previewKey ? { preview_key: e.previewKey } : {}),
    ...(e.ssim !== undefined ? { ssim: e.ssim } : {}),
    ...(e.thumbnailKey ? { thumbnail_key: e.thumbnailKey } : {}),
    ...(e.picture ? { picture: e.picture } : {}),
  };
}

function groupId(g: Group): string {
  const keys = [g.winner.key, ...g.losers.map((l) => l.entry.key)].sort();
  return `${g.type}:${createHash("sha256").update(`${g.type}\n${keys.join("\n")}`).digest("hex").slice(0, 16)}`;
}

function toReportGroup(g: Group, options: DedupOptions, bucket: string): DedupGroup {
  const uri = (e: Entry) => `s3://${bucket}/${e.key}`;
  const members = [g.winner, ...g.losers.map((l) => l.entry)];
  const matches = Object.fromEntries(
    g.losers.filter((l) => l.match).map((l) => {
      const m = l.match!;
      return [l.entry.key, { with: m.short === l.entry ? m.long.key : m.short.key, offset_sec: m.offset, flipped: m.flipped, matched_frames: m.matched, comparable_frames: m.comparable, mean_distance: Math.round(m.distance * 100) / 100 }];
    }),
  );
  return {
    group_id: groupId(g),
    type: g.type,
    winner: { key: g.winner.key, uri: uri(g.winner), size: g.winner.size, etag: g.winner.etag, reason: g.type === "subset" ? `longest: contains the others; ${winnerReason(options.policy, g.winner)}` : winnerReason(options.policy, g.winner) },
    losers: g.losers.map((l) => ({
      key: l.entry.key,
      uri: uri(l.entry),
      size: l.entry.size,
      etag: l.entry.etag,
      reason: l.reason,
      ...(l.match ? { distance: Math.round(l.match.distance * 100) / 100 } : {}),
    })),
    metadata: {
      bytes_reclaimable: g.losers.reduce((n, l) => n + l.entry.size, 0),
      ...(g.type === "exact" && g.winner.sha256 ? { sha256: g.winner.sha256 } : {}),
      media: Object.fromEntries(members.map((e) => [e.key, mediaOf(e)])),
      ...(Object.keys(matches).length ? { matches } : {}),
    },
  };
}

export function buildReport(groups: readonly Group[], ctx: ReportContext): DedupReport {
  const out = groups.map((g) => toReportGroup(g, ctx.options, ctx.bucket));
  out.sort((a, b) => (b.metadata.bytes_reclaimable as number) - (a.metadata.bytes_reclaimable as number) || a.group_id.localeCompare(b.group_id));
  const byType = (t: string) => out.filter((g) => g.type === t).length;
  return DedupReport.parse({
    groups: out,
    summary: {
      total_groups: out.length,
      total_losers: out.reduce((n, g) => n + g.losers.length, 0),
      bytes_reclaimable: out.reduce((n, g) => n + (g.metadata.bytes_reclaimable as number), 0),
      scan_time: ctx.startedAt.toISOString(),
      elapsed_sec: Math.round(ctx.elapsedMs) / 1000,
      records: ctx.records,
      bytes_read: ctx.stages.reduce((n, s) => n + s.bytes_read, 0),
      groups_by_type: { exact: byType("exact"), visual: byType("visual"), subset: byType("subset") },
      quality: ctx.options.quality,
      policy: ctx.options.policy,
      options: ctx.options,
      stages: ctx.stages,
    },
  });
}
