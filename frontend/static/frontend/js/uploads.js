// Sending one file to the vault in parts, through an upload session (docs/api.md): the
// server holds one part at a time whatever the file's size, a part that fails is sent again,
// and progress counts every byte. Used by the vault pages and by the thread composer.

const PART_TRIES = 4;
const KB = 1024;
const UNITS = ["KB", "MB", "GB", "TB", "PB"];
const NBSP = "\u00a0";
const RETRY_DELAY_MS = 1_000;
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

/**
 * One file, start to finish. `opening` holds the session's fields besides the file's name
 * and size (`account`, `document` or `thread`, and the rest). Callbacks: `onProgress(sent,
 * size)`, `onRetry(attempt)`, `onStoring()` once every byte is sent. `upload.cancel()`
 * stops it and abandons the session. Resolves to `{ status, body, cancelled }`: 201 and the
 * document on success, else the refusal (status 0: the connection failed).
 */
export class PartsUpload {
  constructor(
    file,
    { token, endpoint = UPLOADS_ENDPOINT, opening = {}, onProgress = () => {}, onRetry = () => {}, onStoring = () => {} },
  ) {
    this.file = file;
    this.endpoint = endpoint;
    this.token = token;
    this.opening = opening;
    this.onProgress = onProgress;
    this.onRetry = onRetry;
    this.onStoring = onStoring;
    this.xhr = null;
    this.session = null;
    this.cancelled = false;
  }

  cancel() {
    this.cancelled = true;
    if (this.xhr !== null) this.xhr.abort();
  }

  sessionUrl(suffix = "") {
    return `${this.endpoint}/${encodeURIComponent(this.session.id)}${suffix}`;
  }

  abandon() {
    if (this.session !== null) apiCall("DELETE", this.sessionUrl(), this.token);
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

  async run() {
    const stop = () => {
      this.abandon();
      return { status: 0, body: null, cancelled: true };
    };
    const refused = (answer) => {
      this.abandon();
      return { ...answer, cancelled: false };
    };
    const opened = await apiCall("POST", this.endpoint, this.token, {
      filename: this.file.name,
      size: this.file.size,
      ...this.opening,
    });
    if (opened.status === 201 && opened.body !== null) this.session = opened.body;
    if (this.cancelled) return stop();
    if (this.session === null) return { ...opened, cancelled: false };
    let offset = this.session.received;
    let tries = 0;
    let sentEmpty = false;
    while (offset < this.file.size || (this.file.size === 0 && !sentEmpty)) {
      const blob = this.file.slice(offset, offset + this.session.part_size);
      const answer = await this.putPart(offset, blob);
      if (this.cancelled) return stop();
      if (answer.status === 200 && answer.body !== null) {
        offset = answer.body.received;
        sentEmpty = true;
        tries = 0;
        continue;
      }
      if (answer.status === 409 && answer.body?.error?.code === "offset_mismatch") {
        // The server stands elsewhere (a part's answer was lost): go on from there.
        offset = answer.body.error.fields.received;
        continue;
      }
      tries += 1;
      const transient = answer.status === 0 || answer.status >= 500;
      if (!transient || tries >= PART_TRIES) return refused(answer);
      this.onRetry(tries);
      await new Promise((wait) => window.setTimeout(wait, RETRY_DELAY_MS * tries));
      if (this.cancelled) return stop();
    }
    this.onStoring();
    const done = await apiCall("POST", this.sessionUrl("/complete"), this.token);
    if (done.status !== 201 || done.body === null) return refused(done);
    return { ...done, cancelled: false };
  }
}
