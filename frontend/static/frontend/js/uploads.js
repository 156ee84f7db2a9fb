// Sending one file to the vault in parts, through an upload session (docs/api.md): the
// server holds one part at a time whatever the file's size, and progress counts every byte.
// Used by the vault pages and by the thread composer.
//
// A lost connection does not lose the upload. A part that fails for want of a connection is
// sent again, with growing pauses (at once when the browser says it is back online), for up
// to OUTAGE_LIMIT_MS; after that the upload stops but its session stays on the server, and
// the same file can carry on from where it stood: with `resume` on the same item, or, after
// the page was closed, by choosing or dropping that file again (the session is remembered in
// this browser under a digest of the file's name, size and date and of where it goes; no
// name is stored). A part the server fails on is sent again a few times; anything else it
// refuses ends the upload.

const SERVER_TRIES = 4;
const RETRY_DELAY_MS = 1_000;
const RETRY_DELAY_MAX_MS = 15_000;
export const OUTAGE_LIMIT_MS = 10 * 60_000;
const KB = 1024;
const UNITS = ["KB", "MB", "GB", "TB", "PB"];
const NBSP = "\u00a0";
const REMEMBERED = "atrium.vault.uploads";
export const UPLOADS_ENDPOINT = "/api/v1/vault/uploads";

/** A byte count as the server's pages write it (Django's filesizeformat: 1 KB is 1,024 bytes). */
export function formatBytes(bytes) {
  const n = Number.isFinite(bytes) ? Math.max(0, Math.floor(bytes)) : 0;
  if (n < KB) return `${n}${NBSP}${n === 1 ? "byte" : "bytes"}`;
  let value = n / KB;
  let unit = 0;
  while (value >= KB && unit < UNITS.length - 1) {
    value /= KB;
    unit += 1;
  }
  return `${value.toFixed(1)}${NBSP}${UNITS[unit]}`;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A JSON call to the API; resolves to `{ status, body }` (status 0: no connection). */
export function apiCall(method, url, token, payload) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.setRequestHeader("Accept", "application/json");
    if (payload !== undefined) xhr.setRequestHeader("Content-Type", "application/json");
    xhr.addEventListener("load", () => resolve({ status: xhr.status, body: parseJson(xhr.responseText) }));
    xhr.addEventListener("error", () => resolve({ status: 0, body: null }));
    xhr.addEventListener("abort", () => resolve({ status: 0, body: null }));
    xhr.send(payload === undefined ? null : JSON.stringify(payload));
  });
}

/** No answer at all, or a proxy's answer that the server behind it is away for now. */
function connectionLost(status) {
  return status === 0 || status === 502 || status === 503 || status === 504;
}

// --- sessions this browser may resume -------------------------------------------------------

function remembered() {
  try {
    const all = JSON.parse(window.localStorage.getItem(REMEMBERED) ?? "{}");
    const now = Date.now();
    for (const [key, entry] of Object.entries(all)) {
      if (!(Date.parse(entry?.expires_at) > now)) delete all[key];
    }
    return all;
  } catch {
    return {};
  }
}

function remember(key, session) {
  if (key === null) return;
  const all = remembered();
  if (session === null) delete all[key];
  else all[key] = { id: session.id, expires_at: session.expires_at };
  try {
    window.localStorage.setItem(REMEMBERED, JSON.stringify(all));
  } catch {
    // Storage full or switched off: the upload still works, it just cannot resume after a reload.
  }
}

/** The key a file's session is remembered under: a digest, so no file name is stored. */
async function rememberKey(file, opening) {
  if (!window.crypto?.subtle) return null;
  const fields = Object.keys(opening)
    .sort()
    .map((name) => [name, String(opening[name])]);
  const text = JSON.stringify([file.name, file.size, file.lastModified, fields]);
  const digest = await window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * One file, start to finish. `opening` holds the session's fields besides the file's name
 * and size (`account`, `document` or `thread`, and the rest). Callbacks: `onProgress(sent,
 * size)`; `onResumed(received)` when an earlier session of this file goes on; `onRetry({
 * attempt, waitMs, offline })` before each pause; `onStoring()` once every byte is sent.
 * `upload.cancel()` stops it and abandons the session. Resolves to `{ status, body,
 * cancelled, resumable }`: 201 and the document on success; else the refusal, or status 0
 * with `resumable` when the connection stayed away (call `run()` again to go on).
 */
export class PartsUpload {
  constructor(
    file,
    {
      token,
      endpoint = UPLOADS_ENDPOINT,
      opening = {},
      onProgress = () => {},
      onResumed = () => {},
      onRetry = () => {},
      onStoring = () => {},
    },
  ) {
    this.file = file;
    this.endpoint = endpoint;
    this.token = token;
    this.opening = opening;
    this.onProgress = onProgress;
    this.onResumed = onResumed;
    this.onRetry = onRetry;
    this.onStoring = onStoring;
    this.xhr = null;
    this.session = null;
    this.key = null;
    this.cancelled = false;
    this.wake = null;
  }

  cancel() {
    this.cancelled = true;
    if (this.xhr !== null) this.xhr.abort();
    if (this.wake !== null) this.wake();
  }

  sessionUrl(suffix = "") {
    return `${this.endpoint}/${encodeURIComponent(this.session.id)}${suffix}`;
  }

  abandon() {
    remember(this.key, null);
    if (this.session !== null) apiCall("DELETE", this.sessionUrl(), this.token);
  }

  /** Waits `ms`, or less: until the browser is back online, or the upload is cancelled. */
  pause(ms) {
    return new Promise((resolve) => {
      const done = () => {
        window.clearTimeout(timer);
        window.removeEventListener("online", done);
        this.wake = null;
        resolve();
      };
      const timer = window.setTimeout(done, ms);
      window.addEventListener("online", done);
      this.wake = done;
    });
  }

  putPart(offset, blob) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open("PUT", this.sessionUrl(`?offset=${offset}`));
      xhr.setRequestHeader("X-CSRFToken", this.token);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && !this.cancelled) {
          this.onProgress(offset + Math.min(event.loaded, blob.size), this.file.size);
        }
      });
      const settle = (status) => {
        this.xhr = null;
        resolve({ status, body: status ? parseJson(xhr.responseText) : null });
      };
      xhr.addEventListener("load", () => settle(xhr.status));
      xhr.addEventListener("error", () => settle(0));
      xhr.addEventListener("abort", () => settle(0));
      xhr.send(blob);
    });
  }

  /** This file's session: the one already open, one remembered from before, or a new one. */
  async open() {
    if (this.session !== null) {
      const known = await apiCall("GET", this.sessionUrl(), this.token);
      if (known.status === 200 && known.body !== null) {
        this.session = known.body;
        this.onResumed(this.session.received);
        return { status: 200, body: this.session };
      }
      if (connectionLost(known.status)) return known;
      this.session = null; // gone (expired, or access ended): start afresh
    }
    this.key = this.key ?? (await rememberKey(this.file, this.opening));
    const earlier = this.key === null ? undefined : remembered()[this.key];
    if (earlier !== undefined) {
      const known = await apiCall("GET", `${this.endpoint}/${encodeURIComponent(earlier.id)}`, this.token);
      if (known.status === 200 && known.body?.size === this.file.size) {
        this.session = known.body;
        if (this.session.received > 0) this.onResumed(this.session.received);
        return { status: 200, body: this.session };
      }
      if (connectionLost(known.status)) return known;
      remember(this.key, null);
    }
    const opened = await apiCall("POST", this.endpoint, this.token, {
      filename: this.file.name,
      size: this.file.size,
      ...this.opening,
    });
    if (opened.status === 201 && opened.body !== null) {
      this.session = opened.body;
      remember(this.key, this.session);
    }
    return opened;
  }

  /**
   * Sends `attempt` until it answers something other than a lost connection, pausing
   * between tries; gives up after OUTAGE_LIMIT_MS without a connection, or SERVER_TRIES
   * server errors. `progressed()` says the last answer moved the upload on (the clocks
   * start again).
   */
  async persist(attempt) {
    let since = null;
    let failures = 0;
    let serverErrors = 0;
    for (;;) {
      const answer = await attempt();
      if (this.cancelled) return answer;
      const lost = connectionLost(answer.status);
      const serverError = answer.status >= 500 && !lost;
      if (!lost && !serverError) return answer;
      if (serverError && ++serverErrors >= SERVER_TRIES) return answer;
      since = since ?? Date.now();
      if (lost && Date.now() - since >= OUTAGE_LIMIT_MS) return { ...answer, resumable: true };
      failures += 1;
      const waitMs = Math.min(RETRY_DELAY_MS * 2 ** (failures - 1), RETRY_DELAY_MAX_MS);
      this.onRetry({ attempt: failures, waitMs, offline: navigator.onLine === false });
      await this.pause(waitMs);
      if (this.cancelled) return answer;
    }
  }

  async run() {
    this.cancelled = false;
    const stop = () => {
      this.abandon();
      return { status: 0, body: null, cancelled: true, resumable: false };
    };
    const refused = (answer) => {
      this.abandon();
      return { ...answer, cancelled: false, resumable: false };
    };
    const opened = await this.persist(() => this.open());
    if (this.cancelled) return stop();
    if (this.session === null || (opened.status !== 200 && opened.status !== 201)) {
      return { ...opened, cancelled: false, resumable: Boolean(opened.resumable) };
    }
    let offset = this.session.received;
    let sentEmpty = false;
    while (offset < this.file.size || (this.file.size === 0 && !sentEmpty)) {
      const from = offset;
      const answer = await this.persist(() =>
        this.putPart(from, this.file.slice(from, from + this.session.part_size)),
      );
      if (this.cancelled) return stop();
      if (answer.status === 200 && answer.body !== null) {
        offset = answer.body.received;
        sentEmpty = true;
        continue;
      }
      if (answer.status === 409 && answer.body?.error?.code === "offset_mismatch") {
        // The server stands elsewhere (a part's answer was lost): go on from there.
        offset = answer.body.error.fields.received;
        continue;
      }
      if (answer.resumable) return { ...answer, cancelled: false };
      return refused(answer);
    }
    this.onStoring();
    let tries = 0;
    const done = await this.persist(async () => {
      tries += 1;
      return apiCall("POST", this.sessionUrl("/complete"), this.token);
    });
    if (this.cancelled) return stop();
    if (done.status === 201 && done.body !== null) {
      remember(this.key, null);
      return { ...done, cancelled: false, resumable: false };
    }
    if (done.status === 404 && tries > 1) {
      // An earlier try went through but its answer was lost: the session is gone because
      // the file was stored.
      remember(this.key, null);
      return { status: 0, body: null, cancelled: false, resumable: false, storedUnseen: true };
    }
    if (done.resumable) return { ...done, cancelled: false };
    return refused(done);
  }
}
