// @ts-check
/** After `nx run pipeline:<name>`: the wall time of each task that ran, the table, and where the report is. */
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { reportPipeline, STAGE_PROJECT } = require('./project-names.js');

/** @param {import('nx/src/project-graph/plugins').PostTasksExecutionContext} context */
function summarizeRun(context) {
  const results = Object.values(context.taskResults ?? {});
  const ours = results.filter((r) => STAGE_PROJECT.test(r.task.target.project));
  if (ours.length === 0) return;
  const ran = ours.filter((r) => r.status === 'success' || r.status === 'failure');
  // Machine-readable record of what ran, for tests and benchmarks.
  if (process.env.GRADSIGN_RUN_SUMMARY) {
    const tasks = ours.map((r) => ({ project: r.task.target.project, status: r.status, executed: r.status === 'success' || r.status === 'failure' }));
    writeFileSync(process.env.GRADSIGN_RUN_SUMMARY, JSON.stringify({ tasks }, null, 2));
  }
  const lines = ['', 'gradsign — tasks'];
  for (const r of ours) {
    const t = /** @type {any} */ (r.task);
    const seconds = t.startTime && t.endTime ? ((t.endTime - t.startTime) / 1000).toFixed(1) + ' s' : '';
    const how = r.status === 'success' ? 'ran' : r.status === 'failure' ? 'FAILED' : 'cached';
    lines.push(`  ${how.padEnd(6)} ${seconds.padStart(8)}  ${t.target.project}`);
  }
  lines.push(`  ${ran.length} ran, ${ours.length - ran.length} from cache; ${((context.endTime - context.startTime) / 1000).toFixed(1)} s in all`);
  for (const r of ours) {
    const pipeline = reportPipeline(r.task.target.project);
    if (pipeline === undefined || r.status === 'failure') continue;
    const dir = path.join(context.workspaceRoot, 'artifacts', pipeline, 'report');
    const md = path.join(dir, 'report.md');
    const table = path.join(dir, 'table.md');
    if (existsSync(table)) lines.push('', `Table 1 analog (${pipeline}; error rates):`, readFileSync(table, 'utf8').trimEnd());
    const html = path.join(dir, 'report.html');
    lines.push('', `report: ${existsSync(html) ? html : md}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

module.exports = { summarizeRun };
