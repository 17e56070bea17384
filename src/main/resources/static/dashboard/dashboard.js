// Quarry's dashboard: plain script, no build step. It polls /api/dashboard/summary, the dead letters
// and (on its first page) the history every two seconds. Every value reaches the page through
// textContent, never as markup: payload previews and error messages come from outside.
'use strict';

const REFRESH_MILLIS = 2000;
const DEAD_LETTER_PAGE = 50;
const state = {
  admin: false,
  history: { cursors: [], before: null, next: null },
  deadLetterOffset: 0,
  refreshing: false,
};

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

function row(cells, attrs) {
  const tr = el('tr', null, attrs);
  for (const cell of cells) {
    tr.appendChild(cell instanceof Node ? wrap(cell) : el('td', cell ?? '—'));
  }
  return tr;
}

function wrap(node) {
  if (node.tagName === 'TD' || node.tagName === 'TH') return node;
  const td = el('td');
  td.appendChild(node);
  return td;
}

// Times are shown in the browser's zone with their UTC offset (2026-12-06 15:04:05 +01:00); the
// header names the zone.
function offset(d) {
  const minutes = -d.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return sign + String(Math.floor(abs / 60)).padStart(2, '0') + ':' + String(abs % 60).padStart(2, '0');
}

function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  const two = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + ' '
    + two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds()) + ' ' + offset(d);
}

function timeZoneName() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  return zone + ' (UTC' + offset(new Date()) + ')';
}

function duration(millis) {
  if (millis === null || millis === undefined) return '—';
  if (millis < 1000) return Math.round(millis) + ' ms';
  const seconds = millis / 1000;
  if (seconds < 60) return seconds.toFixed(1) + ' s';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + ' min ' + Math.round(seconds % 60) + ' s';
  return Math.floor(minutes / 60) + ' h ' + (minutes % 60) + ' min';
}

function rate(value) {
  return value ? value.toFixed(1) : '0';
}

function badge(text) {
  return el('span', text ?? '—', { class: 'badge badge-' + String(text ?? 'none').toLowerCase() });
}

function replaceRows(tbody, rows, empty, columns) {
  const fragment = document.createDocumentFragment();
  if (rows.length === 0) {
    const tr = el('tr', null, { class: 'empty' });
    tr.appendChild(el('td', empty, { colspan: String(columns) }));
    fragment.appendChild(tr);
  }
  rows.forEach((r) => fragment.appendChild(r));
  tbody.replaceChildren(fragment);
}

// A table is rebuilt only when its data changed, so focus and a half-done click survive a refresh.
const rendered = new Map();
function changed(section, data) {
  const json = JSON.stringify(data);
  if (rendered.get(section) === json) return false;
  rendered.set(section, json);
  return true;
}

function say(message, error) {
  const status = document.getElementById('status');
  status.textContent = message;
  status.className = 'status' + (error ? ' error' : ' ok');
}

function csrfToken() {
  const cookie = document.cookie.split('; ').find((c) => c.startsWith('XSRF-TOKEN='));
  return cookie ? decodeURIComponent(cookie.substring('XSRF-TOKEN='.length)) : '';
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (response.status === 401) {
    window.location.assign('/login');
    throw new Error('not logged in');
  }
  if (!response.ok) throw new Error(url + ': HTTP ' + response.status);
  return response.json();
}

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'X-XSRF-TOKEN': csrfToken(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = 'HTTP ' + response.status;
    try {
      const problem = await response.json();
      detail += problem.detail ? ': ' + problem.detail : '';
    } catch (ignored) {
      // no JSON body
    }
    throw new Error(detail);
  }
  return response.json();
}

function actionButton(label, name, handler) {
  const button = el('button', label, { type: 'button', 'data-action': label.toLowerCase().replace(/\s+/g, '-'), 'aria-label': label + ' ' + name });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await handler();
      await refresh();
    } catch (e) {
      say(label + ' ' + name + ' failed: ' + e.message, true);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function renderJobs(jobs) {
  if (!changed('jobs', jobs)) return;
  const names = document.getElementById('job-names');
  names.replaceChildren(...jobs.map((job) => el('option', null, { value: job.name })));
  const rows = jobs.map((job) => {
    const actions = el('td', null, { class: 'admin-only actions' });
    if (state.admin) {
      const path = '/api/jobs/' + encodeURIComponent(job.name);
      actions.appendChild(actionButton('Run now', job.name, async () => {
        await post(path + '/trigger');
        say('Triggered ' + job.name);
      }));
      if (job.state === 'PAUSED' || job.state === 'PAUSED_BLOCKED') {
        actions.appendChild(actionButton('Resume', job.name, async () => {
          await post(path + '/resume');
          say('Resumed ' + job.name);
        }));
      } else {
        actions.appendChild(actionButton('Pause', job.name, async () => {
          await post(path + '/pause');
          say('Paused ' + job.name);
        }));
      }
    }
    return row(
      [el('th', job.name, { scope: 'row' }), job.kind, el('code', job.cron), job.priority, badge(job.state),
        time(job.nextFireTime), time(job.previousFireTime), badge(job.lastOutcome), actions],
      { 'data-job': job.name });
  });
  replaceRows(document.querySelector('#jobs-table tbody'), rows, 'No jobs configured', 9);
  if (window.quarrySchedule) window.quarrySchedule.decorate(jobs, state.admin); // schedule.js
}

function renderRunning(running, at) {
  document.getElementById('running-count').textContent = '(' + running.length + ')';
  if (!changed('running', running)) {
    // the ages still move on
    document.querySelectorAll('#running-table td[data-since]').forEach((td) => {
      td.textContent = duration(new Date(at) - new Date(td.getAttribute('data-since')));
    });
    return;
  }
  const rows = running.map((r) => {
    const age = el('td', duration(new Date(at) - new Date(r.startedAt)), { class: 'num', 'data-since': r.startedAt });
    const progress = r.kind === 'stream'
      ? (r.usersPublished || 0) + ' users queued so far'
        + (r.heartbeatAt ? ', alive ' + time(r.heartbeatAt) : '')
      : 'event queued, waiting for its handler';
    return row(
      [el('th', r.name, { scope: 'row' }), r.kind, el('code', r.kind === 'job' ? '#' + r.id : r.id.substring(0, 8), { title: r.id }),
        time(r.startedAt), age, el('span', r.instance ?? '—', { class: 'instance' }),
        r.source + (r.triggeredBy ? ' by ' + r.triggeredBy : ''), progress],
      { 'data-running': r.kind + ':' + r.id, 'data-name': r.name });
  });
  replaceRows(document.querySelector('#running-table tbody'), rows, 'Nothing is running', 8);
}

function renderStreams(streams) {
  if (!changed('streams', streams)) return;
  const rows = streams.map((run) => {
    const chains = run.chains || {};
    const done = (chains.completed || 0) + (chains.stopped || 0);
    return row(
      [el('th', run.stream, { scope: 'row' }), el('code', run.runId.substring(0, 8), { title: run.runId }),
        time(run.startedAt), badge(run.outcome), run.usersScheduled, run.usersSkipped,
        chains.in_progress || 0, done, chains.failed || 0],
      { 'data-stream': run.stream });
  });
  replaceRows(document.querySelector('#streams-table tbody'), rows, 'No stream has ticked yet', 9);
}

// posts-mining-queue-dev has its dead letters in posts-mining-queue.dlq-dev: one row for both.
function deadLetterQueueOf(name) {
  const dash = name.lastIndexOf('-');
  return dash < 0 ? null : name.substring(0, dash) + '.dlq' + name.substring(dash);
}

function renderQueues(snapshot) {
  if (!changed('queues', snapshot)) return;
  const read = document.getElementById('queues-read');
  read.textContent = snapshot.error
    ? '(broker API: ' + snapshot.error + (snapshot.readAt ? '; figures of ' + time(snapshot.readAt) : '') + ')'
    : snapshot.readAt ? '(read ' + time(snapshot.readAt) + ')' : '';
  const byName = new Map(snapshot.queues.map((q) => [q.name, q]));
  const shown = snapshot.queues.filter((q) => !(q.name.includes('.dlq-') && byName.has(q.name.replace('.dlq-', '-'))));
  const rows = shown.map((q) => {
    const dlq = byName.get(deadLetterQueueOf(q.name));
    const tr = row(
      [el('th', q.name, { scope: 'row' }), q.messages, q.ready, q.unacknowledged, q.consumers,
        rate(q.publishRate), rate(q.deliverRate), rate(q.ackRate), dlq ? dlq.messages : '—'],
      { 'data-queue': q.name });
    [...tr.children].slice(1).forEach((td) => td.classList.add('num'));
    if (dlq && dlq.messages > 0) tr.classList.add('warn');
    return tr;
  });
  replaceRows(document.querySelector('#queues-table tbody'), rows, 'No queue figures yet', 9);
}

function renderUsers(top, attention) {
  if (!changed('users', [top, attention])) return;
  replaceRows(
    document.querySelector('#top-users-table tbody'),
    top.map((u) => row([el('th', u.externalId, { scope: 'row' }), u.stream, u.pagesMined, u.itemsMined,
      u.status + (u.stopReason ? ' (' + u.stopReason + ')' : '')])),
    'No chains yet', 5);
  replaceRows(
    document.querySelector('#attention-table tbody'),
    attention.map((u) => row([el('th', u.externalId, { scope: 'row' }), u.stream,
      u.status + (u.stopReason ? ' (' + u.stopReason + ')' : ''), u.needsReauthorization ? 'yes' : 'no',
      el('span', u.lastError ?? '—', { class: 'error-text' })], { 'data-user': u.externalId })),
    'Nobody needs attention', 5);
}

function selectedDeadLetters() {
  return [...document.querySelectorAll('#dead-letters-table tbody input[type=checkbox]:checked')]
    .map((box) => Number(box.value));
}

function renderDeadLetters(letters, summaryOpen) {
  const offset = state.deadLetterOffset;
  // The list is read live, the summary's count at most a second old: never show fewer than listed.
  const open = Math.max(summaryOpen, offset + letters.length);
  if (letters.length === 0 && offset > 0) {
    state.deadLetterOffset = 0; // the page emptied (replayed elsewhere): back to the newest
  }
  document.getElementById('dl-newer').disabled = offset === 0;
  document.getElementById('dl-older').disabled = offset + DEAD_LETTER_PAGE >= open;
  document.getElementById('dl-range').textContent = letters.length
    ? (offset + 1) + '–' + (offset + letters.length) + ' of ' + open : '';
  if (!changed('dead-letters', [letters, open])) return;
  document.getElementById('dl-count').textContent = '(' + open + ' open)';
  const checked = new Set(selectedDeadLetters());
  const rows = letters.map((d) => {
    const select = el('td', null, { class: 'admin-only' });
    const actions = el('td', null, { class: 'admin-only actions' });
    if (state.admin) {
      const box = el('input', null, { type: 'checkbox', value: String(d.id), 'aria-label': 'Select dead letter ' + d.id });
      box.checked = checked.has(d.id);
      select.appendChild(box);
      actions.appendChild(actionButton('Replay', 'dead letter ' + d.id, async () => {
        const result = await post('/api/dead-letters/' + d.id + '/replay');
        say(result.replayed
          ? 'Replayed dead letter ' + d.id + (result.detail ? ': ' + result.detail : '')
          : 'Dead letter ' + d.id + ' was already handled');
      }));
      actions.appendChild(actionButton('Discard', 'dead letter ' + d.id, async () => {
        await post('/api/dead-letters/' + d.id + '/discard');
        say('Discarded dead letter ' + d.id);
      }));
    }
    return row([select, el('th', d.id, { scope: 'row' }), time(d.parkedAt), d.sourceQueue, d.routeId,
      el('span', d.reason, { class: 'error-text' }), d.attempts,
      el('code', d.payloadPreview, { class: 'preview' }), actions], { 'data-dead-letter': String(d.id) });
  });
  replaceRows(document.querySelector('#dead-letters-table tbody'), rows, 'No parked dead letters', 9);
}

async function bulkDeadLetters(action) {
  const ids = selectedDeadLetters();
  if (ids.length === 0) {
    say('Select dead letters first', true);
    return;
  }
  try {
    const result = await post('/api/dead-letters/' + action, { ids });
    say(action + ': ' + result.done.length + ' done, ' + result.alreadyHandled.length + ' already handled'
      + (result.unknown.length ? ', ' + result.unknown.length + ' unknown' : '')
      + (Object.keys(result.refused || {}).length
        ? ', refused: ' + Object.entries(result.refused).map(([id, why]) => id + ' (' + why + ')').join('; ')
        : ''));
    document.getElementById('dl-select-all').checked = false;
    await refresh();
  } catch (e) {
    say(action + ' failed: ' + e.message, true);
  }
}

function historyQuery() {
  const form = document.getElementById('history-filter');
  const params = new URLSearchParams();
  for (const name of ['kind', 'name', 'outcome']) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  for (const name of ['from', 'to']) {
    const value = form.elements[name].value;
    if (value) params.set(name, new Date(value).toISOString());
  }
  if (state.history.before) params.set('before', state.history.before);
  params.set('limit', '25');
  return params;
}

async function loadHistory() {
  const page = await getJson('/api/dashboard/history?' + historyQuery());
  state.history.next = page.next;
  document.getElementById('history-older').disabled = !page.next;
  document.getElementById('history-newest').disabled = state.history.cursors.length === 0;
  if (!changed('history', page)) return;
  const rows = page.entries.map((h) => {
    const details = el('td');
    if (h.outcome === 'failed') {
      const show = el('button', 'Error', { type: 'button', 'aria-label': 'Show the error of ' + h.name + ' ' + h.id });
      show.addEventListener('click', () => showFailure(h.kind, h.id));
      details.appendChild(show);
      if (state.admin && h.kind === 'job') {
        details.appendChild(actionButton('Retry', h.name + ' run ' + h.id, async () => {
          await post('/api/dashboard/history/job/' + encodeURIComponent(h.id) + '/retry');
          say('Retrying ' + h.name + ' run #' + h.id);
        }));
      }
      details.appendChild(el('span', ' ' + (h.error || '').split('\n')[0], { class: 'error-text' }));
    } else if (h.effect) {
      details.appendChild(el('span', h.effect, { class: 'effect' }));
    } else if (h.outcome === 'running') {
      details.textContent = h.kind === 'job' ? 'event queued, waiting for its handler' : 'queueing users';
    }
    const source = (h.source === 'manual' ? 'manual' + (h.triggeredBy ? ' by ' + h.triggeredBy : '') : 'schedule')
      + (h.retryOf ? ', retry of #' + h.retryOf : '');
    return row([time(h.startedAt), time(h.finishedAt), el('th', h.name, { scope: 'row' }), badge(h.outcome), source,
      el('span', h.instance ?? '—', { class: 'instance' }), details],
    { 'data-history': h.kind + ':' + h.id, 'data-name': h.name, 'data-outcome': h.outcome });
  });
  replaceRows(document.querySelector('#history-table tbody'), rows, 'Nothing ran that matches', 7);
}

async function showFailure(kind, id) {
  try {
    const failure = await getJson('/api/dashboard/history/' + kind + '/' + encodeURIComponent(id));
    document.getElementById('failure-title').textContent = 'Failure of ' + failure.name + ' (' + id + ')';
    document.getElementById('failure-text').textContent =
      (failure.error || '(no message)') + (failure.stackTrace ? '\n\n' + failure.stackTrace : '');
    const box = document.getElementById('failure');
    box.hidden = false;
    document.getElementById('failure-text').focus();
  } catch (e) {
    say('Cannot load the failure: ' + e.message, true);
  }
}

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    const [summary, letters] = await Promise.all([
      getJson('/api/dashboard/summary'),
      getJson('/api/dead-letters?limit=' + DEAD_LETTER_PAGE + '&offset=' + state.deadLetterOffset),
    ]);
    renderJobs(summary.jobs);
    renderRunning(summary.running, summary.at);
    renderStreams(summary.streams);
    renderQueues(summary.queues);
    renderUsers(summary.topUsers, summary.attention);
    renderDeadLetters(letters, summary.deadLettersOpen);
    if (!state.history.before) await loadHistory();
    document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    document.getElementById('live').classList.remove('stale');
  } catch (e) {
    document.getElementById('updated').textContent = 'update failed: ' + e.message;
    document.getElementById('live').classList.add('stale');
  } finally {
    state.refreshing = false;
  }
}

async function start() {
  const me = await getJson('/api/dashboard/me');
  state.admin = me.admin;
  document.getElementById('who').textContent = me.user + (me.admin ? ' (admin)' : ' (read-only)');
  document.getElementById('timezone').textContent = 'times in ' + timeZoneName();
  document.body.classList.toggle('read-only', !me.admin);
  if (!me.admin) document.getElementById('hawtio-link').hidden = true;

  document.getElementById('history-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    state.history = { cursors: [], before: null, next: null };
    loadHistory().catch((e) => say('History: ' + e.message, true));
  });
  document.getElementById('history-older').addEventListener('click', () => {
    state.history.cursors.push(state.history.before);
    state.history.before = state.history.next;
    loadHistory().catch((e) => say('History: ' + e.message, true));
  });
  document.getElementById('history-newest').addEventListener('click', () => {
    state.history = { cursors: [], before: null, next: null };
    loadHistory().catch((e) => say('History: ' + e.message, true));
  });
  document.getElementById('failure-close').addEventListener('click', () => {
    document.getElementById('failure').hidden = true;
  });
  document.getElementById('dl-select-all').addEventListener('change', (event) => {
    document.querySelectorAll('#dead-letters-table tbody input[type=checkbox]')
      .forEach((box) => { box.checked = event.target.checked; });
  });
  document.getElementById('dl-older').addEventListener('click', () => {
    state.deadLetterOffset += DEAD_LETTER_PAGE;
    refresh();
  });
  document.getElementById('dl-newer').addEventListener('click', () => {
    state.deadLetterOffset = Math.max(0, state.deadLetterOffset - DEAD_LETTER_PAGE);
    refresh();
  });
  document.getElementById('dl-replay-selected').addEventListener('click', () => bulkDeadLetters('replay'));
  document.getElementById('dl-discard-selected').addEventListener('click', () => bulkDeadLetters('discard'));

  await refresh();
  setInterval(refresh, REFRESH_MILLIS);
}

start().catch((e) => say('The dashboard cannot start: ' + e.message, true));
