// Quarry's dashboard, the statistics section: runs, failures, success rate and duration per job
// over time from /api/dashboard/statistics, drawn as SVG by this script (no library: the page's
// Content-Security-Policy allows only its own scripts and styles, so the chart is made of SVG
// elements with presentation attributes and CSS classes, never inline styles). Uses el(), time(),
// duration(), getJson(), changed() and say() of dashboard.js, loaded before it.
'use strict';

const STATISTICS_REFRESH_MILLIS = 30000;
const SVG = 'http://www.w3.org/2000/svg';
const CHART = { width: 960, height: 240, left: 48, right: 56, top: 12, bottom: 28 };

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function percent(rate) {
  return rate === null || rate === undefined ? '—' : (rate * 100).toFixed(1) + ' %';
}

// All jobs: the buckets of every job added up, durations weighted by their finished runs.
function combined(jobs) {
  if (jobs.length === 0) return [];
  return jobs[0].buckets.map((first, i) => {
    let runs = 0; let succeeded = 0; let failed = 0; let weighted = 0; let timed = 0; let max = null;
    for (const job of jobs) {
      const b = job.buckets[i];
      runs += b.runs; succeeded += b.succeeded; failed += b.failed;
      if (b.avgDurationMillis !== null) {
        weighted += b.avgDurationMillis * (b.succeeded + b.failed || 1);
        timed += b.succeeded + b.failed || 1;
        max = Math.max(max ?? 0, b.maxDurationMillis ?? 0);
      }
    }
    return { start: first.start, runs, succeeded, failed, avgDurationMillis: timed ? weighted / timed : null, maxDurationMillis: max };
  });
}

function drawChart(chart, buckets, bucketMillis) {
  const title = chart.querySelector('title');
  chart.replaceChildren(title);
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const maxRuns = Math.max(1, ...buckets.map((b) => b.runs));
  const durations = buckets.map((b) => b.avgDurationMillis).filter((d) => d !== null);
  const maxDuration = Math.max(1, ...durations);
  const step = plotWidth / Math.max(1, buckets.length);
  const y = (runs) => CHART.top + plotHeight - (runs / maxRuns) * plotHeight;

  chart.appendChild(svg('line', { x1: CHART.left, y1: CHART.top + plotHeight, x2: CHART.left + plotWidth, y2: CHART.top + plotHeight, class: 'axis' }));
  chart.appendChild(svg('text', { x: CHART.left - 6, y: CHART.top + 10, 'text-anchor': 'end', class: 'axis-label' }, maxRuns));
  chart.appendChild(svg('text', { x: CHART.left - 6, y: CHART.top + plotHeight, 'text-anchor': 'end', class: 'axis-label' }, 0));
  chart.appendChild(svg('text', { x: CHART.left + plotWidth + 6, y: CHART.top + 10, class: 'axis-label duration-label' }, duration(maxDuration)));

  const bars = svg('g', { class: 'bars' });
  const points = [];
  buckets.forEach((b, i) => {
    const x = CHART.left + i * step;
    const width = Math.max(1, step - 1);
    const running = b.runs - b.succeeded - b.failed;
    let top = CHART.top + plotHeight;
    const group = svg('g', { class: 'bucket', 'data-start': b.start, 'data-runs': b.runs, 'data-failed': b.failed });
    for (const [count, kind] of [[b.succeeded, 'succeeded'], [b.failed, 'failed'], [running, 'running']]) {
      if (count <= 0) continue;
      const height = (count / maxRuns) * plotHeight;
      top -= height;
      group.appendChild(svg('rect', { x, y: top, width, height, class: 'bar bar-' + kind }));
    }
    group.appendChild(svg('title', {}, time(b.start) + ': ' + b.runs + ' runs, ' + b.failed + ' failed'
      + (b.avgDurationMillis !== null ? ', average ' + duration(b.avgDurationMillis) : '')));
    // an invisible full-height target so that the tooltip shows for empty buckets too
    group.insertBefore(svg('rect', { x, y: CHART.top, width, height: plotHeight, class: 'bar-hit' }), group.firstChild);
    bars.appendChild(group);
    if (b.avgDurationMillis !== null) {
      points.push((x + width / 2).toFixed(1) + ',' + (CHART.top + plotHeight - (b.avgDurationMillis / maxDuration) * plotHeight).toFixed(1));
    }
  });
  chart.appendChild(bars);
  if (points.length > 0) chart.appendChild(svg('polyline', { points: points.join(' '), class: 'duration-line' }));

  // a handful of time labels along the bottom
  const labels = Math.min(6, buckets.length);
  for (let i = 0; i < labels; i++) {
    const index = Math.floor((i * (buckets.length - 1)) / Math.max(1, labels - 1));
    const start = new Date(buckets[index].start);
    const text = bucketMillis >= 86400000
      ? start.toLocaleDateString()
      : start.toLocaleDateString(undefined, { month: 'numeric', day: 'numeric' }) + ' '
        + start.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    chart.appendChild(svg('text', { x: CHART.left + index * step + step / 2, y: CHART.height - 8, 'text-anchor': 'middle', class: 'axis-label' }, text));
  }
  title.textContent = 'Runs per ' + (bucketMillis >= 86400000 ? 'day' : 'hour') + ': ' + buckets.reduce((n, b) => n + b.runs, 0)
    + ' runs, ' + buckets.reduce((n, b) => n + b.failed, 0) + ' failed';
}

function sparkline(job) {
  const width = 160; const height = 24;
  const line = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, width, height, class: 'sparkline', role: 'img', 'aria-label': 'runs of ' + job.name + ' over time' });
  const max = Math.max(1, ...job.buckets.map((b) => b.runs));
  const step = width / Math.max(1, job.buckets.length);
  job.buckets.forEach((b, i) => {
    if (b.runs === 0) return;
    const h = Math.max(1, (b.runs / max) * height);
    line.appendChild(svg('rect', { x: i * step, y: height - h, width: Math.max(1, step - 0.5), height: h, class: b.failed > 0 ? 'bar-failed' : 'bar-succeeded' }));
  });
  return line;
}

function renderStatistics(stats) {
  const select = document.getElementById('stats-job');
  const chosen = select.value;
  if (select.options.length <= 1) {
    stats.jobs.forEach((job) => select.appendChild(el('option', job.name, { value: job.name })));
  }
  const jobs = chosen ? stats.jobs.filter((j) => j.name === chosen) : stats.jobs;
  const bucketMillis = (Date.parse(stats.to) - Date.parse(stats.from)) / Math.max(1, (jobs[0] || stats.jobs[0] || { buckets: [1] }).buckets.length);
  document.getElementById('stats-range').textContent = '— ' + time(stats.from) + ' to ' + time(stats.to);
  drawChart(document.getElementById('stats-chart'), combined(jobs), bucketMillis);
  const rows = stats.jobs.map((job) => {
    const tr = row([el('th', job.name, { scope: 'row' }), job.runs, job.failed, percent(job.successRate),
      duration(job.avgDurationMillis), duration(job.p95DurationMillis), sparkline(job)], { 'data-stats': job.name });
    [...tr.children].slice(1, 6).forEach((td) => td.classList.add('num'));
    if (job.failed > 0) tr.classList.add('warn');
    return tr;
  });
  replaceRows(document.querySelector('#stats-table tbody'), rows, 'No jobs configured', 7);
}

async function loadStatistics() {
  const [days, bucket] = document.getElementById('stats-period').value.split(':');
  const params = new URLSearchParams({ days, bucket });
  const stats = await getJson('/api/dashboard/statistics?' + params);
  if (!changed('statistics', [stats, document.getElementById('stats-job').value])) return;
  renderStatistics(stats);
}

function startStatistics() {
  const reload = () => loadStatistics().catch((e) => say('Statistics: ' + e.message, true));
  document.getElementById('stats-job').addEventListener('change', reload);
  document.getElementById('stats-period').addEventListener('change', reload);
  reload();
  setInterval(reload, STATISTICS_REFRESH_MILLIS);
}

startStatistics();
