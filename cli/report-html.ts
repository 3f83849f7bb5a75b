// The report as one self-contained HTML page: each group in a row, the kept file first, every file
// with its montage (when the runner made one) or the probe's thumbnail, its preview to play inline,
// size, picture details, the SSIM its encode kept, and the reason given.
import type { DedupGroup, DedupReport } from "../shared/schemas.ts";

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

type Media = { width?: number; height?: number; duration_sec?: number; codec?: string; bitrate?: number; montage_key?: string; thumbnail_key?: string; preview_key?: string; ssim?: number };

/** The preview to play beside its duplicates (the picture as its poster), or nothing when there is none. */
function previewPlayer(key: string, media: Media, images: Record<string, string>, poster: string | undefined): string {
  const src = media.preview_key && images[media.preview_key];
  if (!src) return "";
  return `<video class="preview" src="${esc(src)}"${poster ? ` poster="${esc(poster)}"` : ""} controls muted loop preload="metadata" playsinline title="preview of ${esc(key)}"></video>`;
}

function card(g: DedupGroup, key: string, size: number, reason: string, role: "keep" | "remove", images: Record<string, string>, distance?: number): string {
  const media = ((g.metadata.media ?? {}) as Record<string, Media>)[key] ?? {};
  const image = media.montage_key && images[media.montage_key] ? { src: images[media.montage_key], what: "montage" } : media.thumbnail_key && images[media.thumbnail_key] ? { src: images[media.thumbnail_key], what: "still" } : undefined;
  const picture = image ? `<img class="montage" src="${esc(image.src)}" alt="${image.what} of ${esc(key)}">` : `<div class="montage none">no picture</div>`;
  const player = previewPlayer(key, media, images, image?.src);
  const details = [
    media.width ? `${media.width}×${media.height}` : "",
    media.duration_sec ? `${media.duration_sec.toFixed(1)} s` : "",
    media.codec ?? "",
    media.bitrate ? `${(media.bitrate / 1e6).toFixed(2)} Mbit/s` : "",
    media.ssim !== undefined ? `SSIM ${media.ssim.toFixed(3)}` : "",
    distance !== undefined ? `distance ${distance}` : "",
  ].filter(Boolean);
  return `<figure class="card ${role}" data-key="${esc(key)}">
  <div class="role">${role === "keep" ? "KEEP" : "REMOVE"}</div>
  ${player || picture}
  <figcaption><div class="key">${esc(key)}</div><div class="size">${esc(bytes(size))}</div><div class="details">${esc(details.join(" · "))}</div><div class="reason">${esc(reason)}</div></figcaption>
</figure>`;
}

function groupSection(g: DedupGroup, images: Record<string, string>): string {
  const cards = [card(g, g.winner.key, g.winner.size, g.winner.reason, "keep", images), ...g.losers.map((l) => card(g, l.key, l.size, l.reason, "remove", images, l.distance))];
  return `<section class="group" id="${esc(g.group_id)}">
<h2><span class="type ${esc(g.type)}">${esc(g.type)}</span> ${esc(g.group_id)} <span class="saves">frees ${esc(bytes(g.losers.reduce((n, l) => n + l.size, 0)))}</span></h2>
<div class="row">${cards.join("\n")}</div>
</section>`;
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#f6f7f9;color:#1d2329}
h1{margin:0 0 4px}.summary{color:#555;margin-bottom:16px}
table.stages{border-collapse:collapse;margin:8px 0 24px}table.stages td,table.stages th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}
table.stages td:first-child,table.stages th:first-child{text-align:left}
.group{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 3px #0002}
.group h2{font-size:15px;margin:0 0 10px;font-weight:600}.saves{color:#777;font-weight:400}
.type{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;background:#666;font-size:12px}
.type.exact{background:#2f6fdb}.type.visual{background:#8a4bd6}.type.subset{background:#c7791a}
.row{display:flex;gap:12px;overflow-x:auto;align-items:flex-start}
.card{margin:0;flex:0 0 240px;border:2px solid #ccc;border-radius:6px;padding:8px;background:#fafafa}
.card.keep{border-color:#2e9d4f}.card.remove{border-color:#d24a43}
.role{font-weight:700;font-size:12px}.keep .role{color:#2e9d4f}.remove .role{color:#d24a43}
.montage{display:block;width:100%;height:135px;object-fit:cover;margin:6px 0;border-radius:4px;background:#ddd}
.preview{display:block;width:100%;height:135px;margin:6px 0;border-radius:4px;background:#000}
.montage.none{display:flex;align-items:center;justify-content:center;color:#888;font-size:12px}
.key{font-weight:600;word-break:break-all}.size,.details{color:#555}.reason{margin-top:4px;font-size:12px}
`;

/** `images` maps montage, thumbnail and preview keys to URLs the page can load (presigned, or data: URLs for a page that stands alone). */
export function renderReportHtml(report: DedupReport, images: Record<string, string> = {}): string {
  const s = report.summary;
  const stages = (Array.isArray(s.stages) ? s.stages : []) as Array<{ stage: string; input: number; output: number; bytes_read: number; time_ms: number }>;
  const rows = stages.map((st) => `<tr><td>${esc(st.stage)}</td><td>${st.input}</td><td>${st.output}</td><td>${esc(bytes(st.bytes_read))}</td><td>${st.time_ms} ms</td></tr>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reelpress duplicate report</title><style>${CSS}</style></head>
<body>
<h1>Duplicate report</h1>
<div class="summary">${s.total_groups} group(s), ${s.total_losers} file(s) to remove, ${esc(bytes(s.bytes_reclaimable))} to reclaim · scanned ${esc(s.scan_time)}</div>
${rows ? `<table class="stages"><tr><th>stage</th><th>in</th><th>out</th><th>read</th><th>time</th></tr>${rows}</table>` : ""}
${report.groups.length ? report.groups.map((g) => groupSection(g, images)).join("\n") : "<p>No duplicates found.</p>"}
</body></html>
`;
}
