/** report.html's stylesheet, inlined in its <style> (the page loads nothing). */
import { BUCKET_COLORS } from '../plots.ts';
import { rampStops } from './shade.ts';

export const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#0969da;--low:${BUCKET_COLORS.low};--medium:${BUCKET_COLORS.medium};--high:${BUCKET_COLORS.high}}
*{box-sizing:border-box}
html{scroll-behavior:smooth}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:1180px;margin:0 auto;padding:0 28px}
header.top{background:var(--soft);border-bottom:1px solid var(--line);padding:26px 0 18px}
header.top h1{margin:0 0 4px;font-size:26px;font-weight:650;letter-spacing:-.01em}
header.top h1 code{font-size:.85em;background:#fff;border:1px solid var(--line);border-radius:6px;padding:1px 7px}
.lede{margin:4px 0 12px;color:var(--muted);max-width:70em}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:0;padding:0;list-style:none}
.chips li{background:#fff;border:1px solid var(--line);border-radius:999px;padding:2px 11px;font-size:13px}
nav.toc{border-bottom:1px solid var(--line);background:#fff;position:sticky;top:0;z-index:5}
nav.toc ol{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0;padding:9px 0;list-style:none;counter-reset:toc}
nav.toc li{counter-increment:toc;font-size:14px}
nav.toc li::before{content:counter(toc) ". ";color:var(--muted)}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
section{padding:22px 0 8px;border-bottom:1px solid #eef0f2;scroll-margin-top:44px}
h2{font-size:21px;margin:0 0 10px;font-weight:650}
h3{font-size:16px;margin:18px 0 8px;font-weight:650}
p{margin:8px 0;max-width:75em}
.note{color:var(--muted);font-size:13.5px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:12px 14px;overflow:auto}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.t1{margin:10px 0 6px}
table.t1 th,table.t1 td{border:1px solid #fff;padding:4px 8px}
table.t1 thead th{background:var(--soft);font-weight:600;font-size:13px;text-align:center;border-color:var(--line)}
table.t1 tbody th{text-align:left;font-weight:600;font-size:13.5px;background:#fff;border-color:#eef0f2;white-space:nowrap;vertical-align:top}
table.t1 tbody + tbody{border-top:3px solid #fff}
table.t1 td.eps{text-align:right;white-space:nowrap;font-size:13px;background:#fff;border-color:#eef0f2}
table.t1 td.cell{min-width:98px;text-align:right;line-height:1.2}
table.t1 .v{display:block;font-weight:650;font-size:15px}
table.t1 .ci,table.t1 .d{display:block;font-size:11px;color:#444}
table.t1 td.dark,table.t1 td.dark .ci,table.t1 td.dark .d{color:#fff}
table.t1 tr.paper td.cell{font-style:italic;opacity:.92;background-image:repeating-linear-gradient(135deg,rgba(255,255,255,.0) 0 6px,rgba(255,255,255,.28) 6px 8px)}
table.t1 tr.paper td.eps{font-style:italic;color:var(--muted)}
table.t1 .d.up{color:#8a1c1c}table.t1 .d.down{color:#0b4f8a}
table.t1 td.dark .d.up,table.t1 td.dark .d.down{color:#fff}
.bucket-head.low{box-shadow:inset 0 -3px 0 var(--low)}.bucket-head.medium{box-shadow:inset 0 -3px 0 var(--medium)}.bucket-head.high{box-shadow:inset 0 -3px 0 var(--high)}
.legend{display:flex;align-items:center;gap:10px;font-size:12.5px;color:var(--muted);flex-wrap:wrap}
.ramp{width:180px;height:10px;border-radius:2px;background:linear-gradient(90deg,${rampStops()})}
.findings{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}
.finding{border:1px solid var(--line);border-radius:8px;padding:12px 16px;background:#fff}
.finding h3{margin:2px 0 4px;font-size:15.5px}
.badge{display:inline-block;font-size:12px;font-weight:700;letter-spacing:.02em;text-transform:uppercase;border-radius:4px;padding:1px 8px;color:#fff}
.badge.holds{background:#1a7f37}.badge.does-not-hold{background:#cf222e}.badge.not-significant{background:#6e7781}
.finding.holds{border-left:5px solid #1a7f37}.finding.does-not-hold{border-left:5px solid #cf222e}.finding.not-significant{border-left:5px solid #6e7781}
.finding .claim{font-size:13px;color:var(--muted);margin:2px 0 4px}
.bar{display:flex;height:12px;border-radius:3px;overflow:hidden;background:#eee;margin:6px 0 4px}
.bar span{display:block;height:100%}
.bar .supports{background:#1a7f37}.bar .noise{background:#c9d1d9}.bar .against{background:#f0a5a5}.bar .contradicts{background:#cf222e}
.counts{font-size:13px;margin:0 0 6px;display:flex;flex-wrap:wrap;gap:2px 12px}
.counts span{white-space:nowrap}
.counts b{font-variant-numeric:tabular-nums}
.counts small{color:var(--muted)}
.finding .power{font-size:13px;margin:2px 0 6px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
details{margin:6px 0}
summary{cursor:pointer;color:var(--accent);font-size:13px}
table.cmp{font-size:12.5px;margin-top:6px}
table.cmp th,table.cmp td{padding:2px 8px;border-bottom:1px solid #eef0f2;text-align:right}
table.cmp th:first-child,table.cmp td:first-child{text-align:left}
table.cmp tr.flagged td{background:#fff4e5}table.cmp.diagnostics td:last-child{text-align:left;color:#9a6700}
table.cmp tr.supports td:last-child{color:#1a7f37;font-weight:600}table.cmp tr.contradicts td:last-child{color:#cf222e;font-weight:600}
figure.plot{margin:12px 0 6px}
figure.plot svg{max-width:100%;height:auto;display:block}
figcaption{font-size:13.5px;color:var(--muted);margin-top:6px;max-width:75em}
.ex-bucket{margin:16px 0 4px;display:flex;align-items:baseline;gap:10px}
.ex-bucket h3{margin:0}
.dot{display:inline-block;width:11px;height:11px;border-radius:50%}
.example{display:grid;grid-template-columns:150px 1fr;gap:14px;padding:10px 0;border-top:1px solid #eef0f2}
.clean{font-size:12.5px}
.clean img,.card img{display:block;image-rendering:pixelated;border:1px solid var(--line);background:#fff}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(188px,1fr));gap:8px}
.card{border:1px solid #eef0f2;border-radius:6px;padding:6px 8px;font-size:12px;background:#fff}
.card .imgs{display:flex;gap:6px}
.card .combo{margin-bottom:4px;line-height:1.3}
.card .combo .series{display:block;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.card .combo .small{display:block}
.pred{margin-top:3px}
.pred.fooled{color:#cf222e}.pred.held{color:#1a7f37}
.small{font-size:11.5px;color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:8px 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
footer{color:var(--muted);font-size:13px;padding:18px 0 36px}
@media (max-width:700px){.findings{grid-template-columns:1fr}.example{grid-template-columns:1fr}}
@media print{nav.toc{position:static}}
`;
