// The email section of Quarry's dashboard: mails per state, the failed ones with the SMTP server's
// reply, and (admin only) a bulk re-queue of failed mail. Kept apart from dashboard.js; it builds
// its own section and polls /api/email every two seconds. Values reach the page through
// textContent only: replies and addresses come from outside.
'use strict';

(() => {
  const REFRESH_MILLIS = 2000;
  const STATES = ['pending', 'sending', 'sent', 'failed'];
  let admin = false;
  let lastJson = null;

  function node(tag, text, attrs) {
    const element = document.createElement(tag);
    if (text !== undefined && text !== null) element.textContent = String(text);
    for (const [key, value] of Object.entries(attrs || {})) element.setAttribute(key, value);
    return element;
  }

  function cell(value, attrs) {
    return node('td', value === null || value === undefined || value === '' ? '—' : value, attrs);
  }

  function when(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }

  function age(seconds) {
    const s = Math.round(Number(seconds) || 0);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }

  function say(message, error) {
    const status = document.getElementById('status');
    if (!status) return;
    status.textContent = message;
    status.className = 'status' + (error ? ' error' : ' ok');
  }

  function csrfToken() {
    const cookie = document.cookie.split('; ').find((c) => c.startsWith('XSRF-TOKEN='));
    return cookie ? decodeURIComponent(cookie.substring('XSRF-TOKEN='.length)) : '';
  }

  async function request(url, method) {
    const response = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: method === 'POST'
        ? { Accept: 'application/json', 'X-XSRF-TOKEN': csrfToken() }
        : { Accept: 'application/json' },
    });
    if (!response.ok) {
      let detail = 'HTTP ' + response.status;
      try {
        const problem = await response.json();
        if (problem.detail) detail += ': ' + problem.detail;
      } catch (ignored) {
        // no JSON body
      }
      throw new Error(detail);
    }
    return response.json();
  }

  function build() {
    document.head.appendChild(node('link', null, { rel: 'stylesheet', href: 'email.css' }));
    const section = node('section', null, { id: 'email', 'aria-labelledby': 'email-title' });
    const title = node('h2', 'Email ', { id: 'email-title' });
    title.appendChild(node('small', null, { id: 'email-oldest' }));
    section.appendChild(title);
    const counts = node('dl', null, { id: 'email-counts', class: 'email-counts' });
    for (const state of STATES) {
      const entry = node('div', null, { 'data-state': state });
      entry.appendChild(node('dt', state));
      entry.appendChild(node('dd', '…', { id: 'email-count-' + state }));
      counts.appendChild(entry);
    }
    section.appendChild(counts);
    const bulk = node('p', null, { class: 'bulk', id: 'email-admin', hidden: '' });
    const transient = node('button', 'Re-queue failed mails, permanent failures left out',
      { type: 'button', id: 'email-requeue-transient' });
    transient.addEventListener('click', () => requeue(false));
    bulk.appendChild(transient);
    const button = node('button', 'Re-queue all failed mails', { type: 'button', id: 'email-requeue' });
    button.addEventListener('click', () => requeue(true));
    bulk.appendChild(button);
    section.appendChild(bulk);
    section.appendChild(node('h3', 'Failed mails, with the SMTP server\'s reply'));
    const table = node('table', null, { id: 'email-failed-table' });
    const head = node('tr');
    for (const name of ['Id', 'Recipient', 'Subject', 'Class', 'Code', 'Server reply', 'Attempts', 'Failed']) {
      head.appendChild(node('th', name, { scope: 'col', class: name === 'Attempts' || name === 'Code' ? 'num' : '' }));
    }
    const thead = node('thead');
    thead.appendChild(head);
    table.appendChild(thead);
    table.appendChild(node('tbody'));
    section.appendChild(table);

    const main = document.getElementById('main') || document.body;
    const history = document.getElementById('history');
    main.insertBefore(section, history && history.parentNode === main ? history : null);
    const navList = document.querySelector('nav ul');
    const hawtio = document.getElementById('hawtio-link');
    if (navList) {
      const item = node('li');
      item.appendChild(node('a', 'Email', { href: '#email' }));
      navList.insertBefore(item, hawtio ? hawtio.parentNode : null);
    }
  }

  function render(overview) {
    const json = JSON.stringify({ counts: overview.counts, failed: overview.failed });
    const waiting = overview.counts.pending + overview.counts.sending;
    document.getElementById('email-oldest').textContent = waiting > 0
      ? 'oldest undelivered mail: ' + age(overview.oldestPendingSeconds)
      : 'nothing waiting';
    if (json === lastJson) return;
    lastJson = json;
    for (const state of STATES) {
      document.getElementById('email-count-' + state).textContent = String(overview.counts[state]);
    }
    document.getElementById('email-requeue').disabled = overview.counts.failed === 0;
    document.getElementById('email-requeue-transient').disabled = overview.counts.failed === 0;
    const rows = overview.failed.map((mail) => {
      const tr = node('tr', null, { 'data-email': String(mail.id), 'data-class': mail.failureClass || '' });
      tr.appendChild(node('th', mail.id, { scope: 'row' }));
      tr.appendChild(cell(mail.recipient));
      tr.appendChild(cell(mail.subject));
      const kind = node('td');
      kind.appendChild(node('span', mail.failureClass || 'unknown',
        { class: 'badge badge-' + (mail.failureClass === 'permanent' ? 'failed' : 'paused') }));
      tr.appendChild(kind);
      tr.appendChild(cell(mail.smtpCode, { class: 'num' }));
      tr.appendChild(cell(mail.reply, { class: 'error-text email-reply' }));
      tr.appendChild(cell(mail.attempts, { class: 'num' }));
      tr.appendChild(cell(when(mail.failedAt)));
      return tr;
    });
    if (rows.length === 0) {
      const tr = node('tr', null, { class: 'empty' });
      tr.appendChild(node('td', 'No failed mail', { colspan: '8' }));
      rows.push(tr);
    }
    document.querySelector('#email-failed-table tbody').replaceChildren(...rows);
  }

  async function refresh() {
    try {
      render(await request('/api/email?limit=50', 'GET'));
    } catch (e) {
      document.getElementById('email-oldest').textContent = 'update failed: ' + e.message;
    }
  }

  async function requeue(permanent) {
    const button = document.getElementById(permanent ? 'email-requeue' : 'email-requeue-transient');
    const question = permanent
      ? 'Put every failed mail back in line, permanent failures included?'
      : 'Put the failed mails back in line, except those the server refused for good?';
    if (!window.confirm(question)) return;
    button.disabled = true;
    try {
      const result = await request('/api/email/requeue-failed?permanent=' + permanent, 'POST');
      say('Re-queued ' + result.requeued + ' failed mails' + (permanent ? '' : ', permanent ones left'));
      await refresh();
    } catch (e) {
      say('Re-queue of failed mails failed: ' + e.message, true);
    } finally {
      button.disabled = false;
    }
  }

  async function start() {
    build();
    try {
      const me = await request('/api/dashboard/me', 'GET');
      admin = me.admin === true;
    } catch (ignored) {
      admin = false;
    }
    document.getElementById('email-admin').hidden = !admin;
    await refresh();
    setInterval(refresh, REFRESH_MILLIS);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
