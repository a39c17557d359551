// The daemon's API as the page uses it: JSON reads, authorised control calls, the live
// event stream, and the Prometheus text of /metrics read into samples.

/** GET `path` as JSON; throws an Error naming the route and the server's `error`. */
export async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(`${path}: ${response.status} ${body.error || response.statusText}`);
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return body;
}

/**
 * POST a control call with the bearer token; resolves to {ok, status, body} whatever the
 * answer, so the caller can show a refusal (401, 429, 503) as the server worded it.
 */
export async function control(path, token, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      Accept: "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body: answer };
}

/** GET /metrics as plain text. */
export async function getMetrics() {
  const response = await fetch("/metrics");
  if (!response.ok) throw new Error(`/metrics: ${response.status}`);
  return response.text();
}

/**
 * Prometheus text exposition → [{name, labels, value}] (comments skipped; values as
 * numbers: these are counters and gauges for display, never money).
 */
export function parseMetrics(text) {
  const samples = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split("\n")) {
    if (!raw || raw.startsWith("#")) continue;
    const m = line.exec(raw);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || "").matchAll(label)) labels[l[1]] = l[2].replace(/\\(.)/g, "$1");
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/**
 * Subscribes to /api/v1/events. `handlers` maps an event kind to a function of the
 * parsed event; `onState` hears "open" / "error" (the browser reconnects by itself).
 */
export function subscribe(handlers, onState) {
  const source = new EventSource("/api/v1/events");
  source.onopen = () => onState("open");
  source.onerror = () => onState("error");
  for (const [kind, handle] of Object.entries(handlers)) {
    source.addEventListener(kind, (message) => {
      try {
        handle(JSON.parse(message.data));
      } catch (error) {
        console.warn(`event ${kind} not handled`, error);
      }
    });
  }
  return source;
}
