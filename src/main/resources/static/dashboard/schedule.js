// Schedules on the dashboard's jobs table: the cron's time zone, who edited a schedule at run time,
// a warning where instances are configured with different schedules, and for admins an editor of
// a job's cron and time zone (PUT /api/jobs/{name}/schedule with the CSRF token). dashboard.js
// calls quarrySchedule.decorate(jobs, admin) each time it rebuilds the jobs table.
'use strict';

window.quarrySchedule = (() => {
  function node(tag, text, attrs) {
    const n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    for (const [key, value] of Object.entries(attrs || {})) n.setAttribute(key, value);
    return n;
  }

  function xsrf() {
    const cookie = document.cookie.split('; ').find((c) => c.startsWith('XSRF-TOKEN='));
    return cookie ? decodeURIComponent(cookie.substring('XSRF-TOKEN='.length)) : '';
  }

  function tell(message, error) {
    if (typeof say === 'function') say(message, error);
  }

  function editor() {
    let form = document.getElementById('schedule-editor');
    if (form) return form;
    form = node('form', null, { id: 'schedule-editor', class: 'schedule-editor', hidden: '' });
    form.append(
      node('h3', null, { id: 'schedule-editor-title' }),
      node('label', 'Cron (Quartz, seconds first) ', { for: 'schedule-cron' }),
      node('input', null, { id: 'schedule-cron', name: 'cron', required: '', size: '24' }),
      node('label', ' Time zone ', { for: 'schedule-zone' }),
      node('input', null, { id: 'schedule-zone', name: 'timeZone', size: '18', placeholder: 'UTC' }),
      node('button', 'Save schedule', { type: 'submit', 'data-action': 'save-schedule' }),
      node('button', 'Cancel', { type: 'button', 'data-action': 'cancel-schedule' }),
      node('p', 'Applies to the whole cluster and keeps a pause; it holds until a configured cron changes.',
        { class: 'hint' }));
    form.querySelector('[data-action=cancel-schedule]').addEventListener('click', () => { form.hidden = true; });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const name = form.dataset.job;
      const response = await fetch('/api/jobs/' + encodeURIComponent(name) + '/schedule', {
        method: 'PUT',
        credentials: 'same-origin',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-XSRF-TOKEN': xsrf() },
        body: JSON.stringify({ cron: form.elements.cron.value, timeZone: form.elements.timeZone.value || null }),
      });
      if (!response.ok) {
        let detail = 'HTTP ' + response.status;
        try {
          const problem = await response.json();
          if (problem.detail) detail += ': ' + problem.detail;
        } catch (ignored) {
          // no problem body
        }
        tell('Schedule of ' + name + ' not changed: ' + detail, true);
        return;
      }
      form.hidden = true;
      tell('Schedule of ' + name + ' changed');
      if (typeof refresh === 'function') await refresh();
    });
    document.getElementById('jobs-table').after(form);
    return form;
  }

  function open(job) {
    const form = editor();
    form.dataset.job = job.name;
    document.getElementById('schedule-editor-title').textContent = 'Schedule of ' + job.name;
    form.elements.cron.value = job.cron || '';
    form.elements.timeZone.value = job.timeZone || 'UTC';
    form.hidden = false;
    form.elements.cron.focus();
  }

  function decorate(jobs, admin) {
    for (const job of jobs) {
      const tr = document.querySelector('#jobs-table tbody tr[data-job="' + CSS.escape(job.name) + '"]');
      if (!tr) continue;
      const code = [...tr.querySelectorAll('code')].find((c) => c.textContent === job.cron);
      const cron = code ? code.closest('td') : tr.children[2];
      cron.appendChild(node('span', ' ' + (job.timeZone || 'UTC'), { class: 'time-zone' }));
      if (job.scheduleSource === 'edit') {
        cron.appendChild(node('span', ' edited by ' + job.scheduleSetBy, { class: 'schedule-edited' }));
      }
      if (job.scheduleDisagreement) {
        const wanted = Object.entries(job.scheduleDisagreement)
          .map(([instance, schedule]) => instance + ': ' + schedule).join(', ');
        cron.appendChild(node('span', '⚠ instances disagree (' + wanted + ')',
          { class: 'schedule-warning', role: 'note', title: 'Configure the same cron on every instance' }));
      }
      const actions = tr.querySelector('td.actions');
      if (admin && actions) {
        const button = node('button', 'Edit schedule',
          { type: 'button', 'data-action': 'edit-schedule', 'aria-label': 'Edit schedule ' + job.name });
        button.addEventListener('click', () => open(job));
        actions.appendChild(button);
      }
    }
  }

  return { decorate };
})();
