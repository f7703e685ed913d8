// The dashboard: plain browser JavaScript, no build step and no dependency. It reads the manager's own
// API and follows GET /events. Everything it shows is inserted as text (textContent), never as markup:
// task names, errors and results are user input.

const STATES = ['Pending', 'Scheduled', 'Running', 'Completed', 'Failed', 'Skipped', 'Interrupted'];
const TERMINAL = new Set([3, 4, 5, 6]);
const RECENT_TASKS = 20;
/** Go's zero time: the API's way of saying "not set". */
const ZERO_TIME = '0001-01-01T00:00:00Z';
const REFRESH_MS = 5_000;

const counts = new Map(STATES.map((_, state) => [state, 0]));
/** The newest tasks, by id, as GET /tasks shows them, kept up to date by events. */
let tasks = new Map();
let proplets = [];
const propletNames = new Map();

// ---- helpers ---------------------------------------------------------------------------------------

/** An element with text content and attributes; children are elements or strings (inserted as text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

/** Back to the login form, to return here: the login cookie is gone or no longer valid. */
function logIn() {
  document.location.assign(`login?next=${encodeURIComponent(document.location.pathname)}`);
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  if (response.status === 401) logIn();
  const text = await response.text();
  const body = text === '' ? undefined : JSON.parse(text);
  if (!response.ok) throw new Error(body?.error ?? `${response.status} ${response.statusText}`);
  return body;
}

const isSet = (time) => Boolean(time) && time !== ZERO_TIME;

function formatDuration(ms) {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = ms / 1_000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function ago(time) {
  if (!isSet(time)) return 'never';
  const ms = Date.now() - Date.parse(time);
  return ms < 1_500 ? 'just now' : `${formatDuration(ms)} ago`;
}

function clock(time) {
  return isSet(time) ? new Date(time).toLocaleTimeString() : '';
}

function duration(task) {
  if (!isSet(task.start_time)) return '';
  const end = isSet(task.finish_time) ? Date.parse(task.finish_time) : Date.now();
  return formatDuration(end - Date.parse(task.start_time));
}

function outcome(task) {
  if (task.error) return task.error;
  if (task.results === undefined || task.results === null) return '';
  return typeof task.results === 'string' ? task.results : JSON.stringify(task.results);
}

function stateBadge(state) {
  return el('span', { class: 'state', 'data-state': state, text: STATES[state] ?? `state ${state}` });
}

function shortId(id) {
  return id ? `${id.slice(0, 8)}…` : '';
}

// ---- rendering -------------------------------------------------------------------------------------

function renderCounts() {
  const list = document.getElementById('counts');
  list.replaceChildren(
    ...STATES.map((name, state) =>
      el(
        'li',
        { class: 'count', 'data-state': state },
        el('span', { class: 'count-value', text: counts.get(state) ?? 0 }),
        el('span', { class: 'count-name', text: name }),
      ),
    ),
  );
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  document.getElementById('total').textContent = `${total} in all`;
}

function renderProplets() {
  const body = document.querySelector('#proplets tbody');
  body.replaceChildren(
    ...proplets.map((proplet) =>
      el(
        'tr',
        { 'data-proplet-id': proplet.id },
        el(
          'td',
          { title: proplet.id },
          el('span', { class: 'name', text: proplet.name }),
          ' ',
          el('span', { class: 'muted id', text: shortId(proplet.id) }),
        ),
        el(
          'td',
          {},
          el('span', { class: proplet.alive ? 'alive' : 'dead', text: proplet.alive ? 'alive' : 'offline' }),
        ),
        el('td', { class: 'number', text: proplet.task_count }),
        el('td', { title: proplet.last_alive_at ?? '', text: ago(proplet.last_alive_at) }),
      ),
    ),
  );
  const alive = proplets.filter((proplet) => proplet.alive).length;
  document.getElementById('proplets-summary').textContent = `${alive} alive of ${proplets.length}`;
  document.getElementById('no-proplets').hidden = proplets.length > 0;
}

function renderTasks() {
  const body = document.querySelector('#recent-tasks tbody');
  const rows = [...tasks.values()]
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))
    .map((task) => {
      const label = task.metadata?.label;
      const proplet = task.proplet_id ? (propletNames.get(task.proplet_id) ?? shortId(task.proplet_id)) : '';
      return el(
        'tr',
        { 'data-task-id': task.id, 'data-state': task.state },
        el(
          'td',
          { title: task.id },
          el('span', { class: 'name', text: label ?? task.name }),
          label ? el('span', { class: 'muted', text: ` ${task.name}()` }) : '',
        ),
        el('td', {}, stateBadge(task.state)),
        el('td', { title: task.proplet_id ?? '', text: proplet }),
        el('td', { class: 'number', text: task.attempt ?? '' }),
        el('td', { class: 'number duration', text: duration(task) }),
        el('td', { title: task.created_at, text: clock(task.created_at) }),
        el('td', { class: task.error ? 'outcome error' : 'outcome', text: outcome(task) }),
      );
    });
  body.replaceChildren(...rows);
  document.getElementById('no-tasks').hidden = rows.length > 0;
}

// ---- loading ---------------------------------------------------------------------------------------

async function loadCounts() {
  const summary = await api('dashboard/summary');
  for (const { state, count } of summary.states) counts.set(state, count);
  renderCounts();
}

async function loadProplets() {
  const page = await api('proplets?limit=100');
  proplets = page.proplets;
  for (const proplet of proplets) propletNames.set(proplet.id, proplet.name);
  renderProplets();
  renderTasks();
}

async function loadTasks() {
  const page = await api(`tasks?limit=${RECENT_TASKS}`);
  tasks = new Map(page.tasks.map((task) => [task.id, task]));
  renderTasks();
}

/** Each refresh on its own: one failing (the manager restarting) does not stop the others. */
function refresh(...loaders) {
  for (const load of loaders) load().catch((error) => console.warn('dashboard refresh failed:', error));
}

let tasksReload;
/** A reload of the list soon, once, however many events ask for it. */
function reloadTasksSoon() {
  clearTimeout(tasksReload);
  tasksReload = setTimeout(() => refresh(loadTasks), 300);
}

// ---- events ----------------------------------------------------------------------------------------

function onTaskEvent(change) {
  if (change.kind === 'created') counts.set(change.state, (counts.get(change.state) ?? 0) + 1);
  else if (change.kind === 'changed') {
    if (change.previous_state !== null)
      counts.set(change.previous_state, Math.max(0, (counts.get(change.previous_state) ?? 0) - 1));
    counts.set(change.state, (counts.get(change.state) ?? 0) + 1);
  } else if (change.kind === 'deleted')
    counts.set(change.state, Math.max(0, (counts.get(change.state) ?? 0) - 1));
  renderCounts();

  if (change.kind === 'deleted') {
    if (tasks.delete(change.task_id)) reloadTasksSoon();
    renderTasks();
    return;
  }
  const task = tasks.get(change.task_id);
  if (!task) {
    if (change.kind === 'created') {
      tasks.set(change.task_id, {
        id: change.task_id,
        name: change.name,
        state: change.state,
        attempt: change.attempt,
        created_at: change.time,
        start_time: ZERO_TIME,
        finish_time: ZERO_TIME,
      });
      // Only the newest are shown.
      const newest = [...tasks.values()].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
      tasks = new Map(newest.slice(0, RECENT_TASKS).map((kept) => [kept.id, kept]));
      renderTasks();
    }
    return;
  }
  if (change.attempt !== task.attempt || change.state === 1) {
    // A new run: what the last one ended with no longer holds.
    task.start_time = ZERO_TIME;
    task.finish_time = ZERO_TIME;
    task.results = undefined;
  }
  Object.assign(task, {
    state: change.state,
    attempt: change.attempt,
    proplet_id: change.proplet_id ?? task.proplet_id,
    error: change.error ?? undefined,
  });
  if (change.state === 2) task.start_time = change.time;
  if (TERMINAL.has(change.state)) {
    task.finish_time = change.time;
    // The result is not in the event; the task has it.
    api(`tasks/${encodeURIComponent(task.id)}`)
      .then((fresh) => {
        if (tasks.has(fresh.id)) tasks.set(fresh.id, fresh);
        renderTasks();
      })
      .catch((error) => console.warn('could not read the task:', error));
  }
  renderTasks();
}

function setConnection(status, text) {
  const badge = document.getElementById('connection');
  badge.dataset.status = status;
  badge.textContent = text;
}

function follow() {
  const events = new EventSource('events');
  events.addEventListener('ready', () => {
    setConnection('live', 'live');
    // What changed while the stream was being opened (or was down) is read afresh.
    refresh(loadCounts, loadTasks, loadProplets);
  });
  events.addEventListener('task', (message) => onTaskEvent(JSON.parse(message.data)));
  events.addEventListener('proplet', () => refresh(loadProplets));
  events.addEventListener('resync', () => refresh(loadCounts, loadTasks, loadProplets));
  // EventSource reconnects by itself, resuming after the last event id it saw.
  events.addEventListener('error', () => setConnection('down', 'reconnecting…'));
}

// ---- the form --------------------------------------------------------------------------------------

function parseInputs(text) {
  return text
    .split(/[\s,]+/)
    .map((input) => input.trim())
    .filter((input) => input !== '');
}

async function runTask(form) {
  const data = new FormData(form);
  const name = String(data.get('name') ?? '').trim();
  const fn = String(data.get('function') ?? '').trim();
  const file = data.get('file');
  if (name === '') throw new Error('a name is needed');
  if (!(file instanceof File) || file.size === 0) throw new Error('choose a .wasm file');
  const body = { name: fn || name, inputs: parseInputs(String(data.get('inputs') ?? '')) };
  if (fn && fn !== name) body.metadata = { label: name };

  const task = await api('tasks', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const upload = new FormData();
  upload.append('file', file, file.name);
  try {
    await api(`tasks/${encodeURIComponent(task.id)}/upload`, { method: 'PUT', body: upload });
    await api(`tasks/${encodeURIComponent(task.id)}/start`, { method: 'POST' });
  } catch (error) {
    // Nothing half-made is left behind.
    await api(`tasks/${encodeURIComponent(task.id)}`, { method: 'DELETE' }).catch(() => undefined);
    throw error;
  }
  return task;
}

function setupForm() {
  const form = document.getElementById('task-form');
  const status = document.getElementById('form-status');
  const button = form.querySelector('button');
  form.addEventListener('submit', (submitted) => {
    submitted.preventDefault();
    button.disabled = true;
    status.className = 'form-status';
    status.textContent = 'Creating…';
    runTask(form)
      .then((task) => {
        status.classList.add('ok');
        status.textContent = `Started ${task.name} (${shortId(task.id)})`;
      })
      .catch((error) => {
        status.classList.add('error');
        status.textContent = error.message;
      })
      .finally(() => {
        button.disabled = false;
      });
  });
}

// ---- logging out -----------------------------------------------------------------------------------

/**
 * With tokens required, the page is served with data-login="on" and offers to log out: the manager removes
 * the login cookie (scripts cannot, it is HttpOnly), and the browser goes to the login form.
 */
function setupLogout() {
  if (document.body.dataset.login !== 'on') return;
  const button = document.getElementById('logout');
  button.addEventListener('click', () => {
    button.disabled = true;
    fetch('logout', { method: 'POST' })
      .then(() => document.location.assign('login'))
      .catch(() => {
        button.disabled = false;
      });
  });
}

// ---- start -----------------------------------------------------------------------------------------

setupForm();
setupLogout();
renderCounts();
follow();
refresh(loadCounts, loadTasks, loadProplets);
// Counts and heartbeats move without a state change to tell: look again now and then.
setInterval(() => refresh(loadCounts, loadProplets), REFRESH_MS);
// Running tasks' durations grow.
setInterval(() => {
  if ([...tasks.values()].some((task) => task.state === 2)) renderTasks();
}, 1_000);
