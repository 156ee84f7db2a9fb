// The vault pages: uploads with progress (dropped or chosen files, one after another), the
// documents list brought up to date after each upload, new versions of a document, copying a
// version's digest, and dates shown in the reader's own time zone.
//
// Uploads go to the JSON API (docs/api.md) in parts, through an upload session: the server
// holds one part of a file at a time whatever its size, a part that fails is sent again, and
// progress counts every byte. File names, titles and the server's messages are only ever put
// into the page as text.

import { el, timeZone } from "./portal.js";
import { icon } from "./ui.js";
import { PartsUpload, formatBytes } from "./uploads.js";

export { formatBytes };

const COPIED_SHOWN_MS = 2_000;

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone });
const secondsFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium", timeZone });

// --- text -----------------------------------------------------------------------------------

function formatTime(time) {
  const date = new Date(time.dateTime);
  if (Number.isNaN(date.getTime())) return;
  time.textContent = (time.dataset.local === "seconds" ? secondsFormat : dateFormat).format(date);
}

/** Server-rendered times (in the server's zone) shown in the reader's zone instead. */
export function localTimes(root = document) {
  for (const time of root.querySelectorAll("time[data-local][datetime]")) formatTime(time);
}

function announce(region, text) {
  if (region === null) return;
  // A change of text is what screen readers announce; clear first so a repeat is heard too.
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// --- what the API answers -------------------------------------------------------------------

/** A sentence for a refused or failed upload, from the API's JSON error where there is one. */
export function uploadErrorText(status, body, { limit }) {
  const code = body?.error?.code;
  const message = typeof body?.error?.message === "string" ? body.error.message : "";
  switch (code) {
    case "too_large":
      return `The file is larger than the limit of ${formatBytes(limit)}.`;
    case "csrf_failed":
      return "Your session changed while this page was open. Reload the page and try again.";
    case "not_authenticated":
      return "You have been signed out. Sign in again, then add the file once more.";
    case "not_found":
      return "This is no longer available to you (or no longer exists). Reload the page.";
    case "type_refused":
    case "bad_upload":
    case "invalid":
    case "key_unavailable":
    case "folder_exists":
      return message || "The upload was refused.";
    default:
      break;
  }
  if (message) return message;
  if (status === 413) return "The file is too large for the server to accept.";
  if (status >= 500) return "Something went wrong on our side. Try again in a moment.";
  return `The upload failed (error ${status}). Try again.`;
}

// --- one file on its way --------------------------------------------------------------------

class UploadItem {
  constructor(file, fields, onCancel) {
    this.file = file;
    this.fields = fields;
    this.upload = null;
    this.state = "queued";
    this.li = el("li", { className: "upload", attrs: { "data-state": "queued" } });
    const head = el("div", { className: "upload-head" });
    head.append(
      el("span", { className: "upload-name", text: file.name }),
      el("span", { className: "upload-size muted", text: formatBytes(file.size) }),
    );
    this.cancelButton = el("button", {
      className: "link-button upload-cancel",
      text: "Cancel",
      attrs: { type: "button", "aria-label": `Cancel uploading ${file.name}` },
    });
    this.cancelButton.addEventListener("click", () => onCancel(this));
    head.append(this.cancelButton);
    this.bar = el("progress", { attrs: { max: "100", value: "0", "aria-label": `Upload of ${file.name}` } });
    this.meta = el("p", { className: "upload-meta", text: "Waiting…" });
    this.li.append(head, this.bar, this.meta);
  }

  setState(state) {
    this.state = state;
    this.li.dataset.state = state;
    this.cancelButton.hidden = !(state === "queued" || state === "sending" || state === "interrupted");
    this.resumeButton?.remove();
    this.resumeButton = null;
  }

  /** An earlier upload of this file goes on from `received` bytes. */
  resumed(received) {
    this.progress(received, this.file.size);
    this.meta.textContent = `Resuming from ${formatBytes(received)} of ${formatBytes(this.file.size)}…`;
  }

  retrying({ waitMs, offline }) {
    this.meta.textContent = offline
      ? "You are offline. The upload goes on by itself when the connection is back…"
      : `The connection dropped; trying again in ${Math.max(1, Math.round(waitMs / 1000))} s…`;
  }

  /** The connection stayed away: the upload waits on the server for `onResume`. */
  interrupted(onResume) {
    this.setState("interrupted");
    this.meta.textContent =
      `The connection stayed away, so the upload stopped at ${this.bar.value}%. ` +
      "It can go on from there, now or after a reload (choose the same file again). ";
    this.resumeButton = el("button", {
      className: "link-button upload-resume",
      text: "Resume",
      attrs: { type: "button", "aria-label": `Resume uploading ${this.file.name}` },
    });
    this.resumeButton.addEventListener("click", () => onResume(this));
    this.meta.append(this.resumeButton);
  }

  sending() {
    this.setState("sending");
    if (this.upload === null) this.progress(0, 1); // a resumed upload keeps its progress
  }

  /** `loaded` of `total` request bytes sent; the request is a little larger than the file. */
  progress(loaded, total) {
    const fraction = total > 0 ? Math.min(1, loaded / total) : 0;
    const percent = Math.floor(fraction * 100);
    this.bar.value = percent;
    const sent = Math.round(fraction * this.file.size);
    this.meta.textContent = `${percent}% · ${formatBytes(sent)} of ${formatBytes(this.file.size)}`;
  }

  sealing() {
    this.progress(1, 1);
    // Everything is sent; the server encrypts and stores it, and cancelling could no longer
    // undo that, so the button goes.
    this.setState("storing");
    this.meta.textContent = `100% · ${formatBytes(this.file.size)} sent · checking and storing…`;
  }

  done(text, link = null) {
    this.setState("done");
    this.bar.value = 100;
    this.meta.replaceChildren(text);
    if (link !== null) this.meta.append(" ", link);
  }

  fail(text) {
    this.setState("failed");
    this.meta.textContent = text;
  }

  cancelled() {
    this.setState("cancelled");
    this.meta.textContent = "Cancelled.";
  }
}

// --- the upload control ---------------------------------------------------------------------

class Uploader {
  /**
   * `root` holds the form (with its data attributes), the list of uploads and a live region.
   * `onUploaded(answer, item)` runs after each upload the server accepted.
   */
  constructor(root, { onUploaded = () => {} } = {}) {
    this.root = root;
    this.form = root.querySelector("[data-uploader]");
    this.kind = this.form.dataset.kind; // "document" or "version"
    this.document = this.form.dataset.document ?? "";
    this.maxBytes = Number(this.form.dataset.maxBytes);
    this.documentUrl = this.form.dataset.documentUrl ?? "";
    this.account = this.form.dataset.account ?? "";
    this.token = this.form.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
    this.input = this.form.querySelector("input[type=file]");
    this.zone = this.form.querySelector("[data-dropzone]");
    this.title = this.form.querySelector("input[name=title]");
    this.folder = this.form.querySelector("select[name=folder]");
    this.privileged = this.form.querySelector("input[name=privileged]");
    this.list = root.querySelector("[data-uploads]");
    this.announcer = root.querySelector("[data-upload-announcer]");
    this.onUploaded = onUploaded;
    this.queue = [];
    this.current = null;

    this.form.addEventListener("submit", (event) => event.preventDefault());
    this.input.addEventListener("change", () => {
      const files = [...this.input.files];
      this.input.value = "";
      this.add(files);
    });
    this.zone.addEventListener("dragenter", (event) => this.dragOver(event));
    this.zone.addEventListener("dragover", (event) => this.dragOver(event));
    this.zone.addEventListener("dragleave", (event) => {
      if (!this.zone.contains(event.relatedTarget)) this.zone.classList.remove("is-dragover");
    });
    this.zone.addEventListener("drop", (event) => this.drop(event));
    this.input.disabled = false;
    this.zone.dataset.ready = "true";
  }

  get multiple() {
    return this.kind === "document";
  }

  dragOver(event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    this.zone.classList.add("is-dragover");
  }

  drop(event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    this.zone.classList.remove("is-dragover");
    const files = [];
    let folders = 0;
    // Entries must be read now: the drop's data is gone once this handler returns.
    const items = [...(event.dataTransfer.items ?? [])].filter((item) => item.kind === "file");
    if (items.length > 0) {
      for (const item of items) {
        const entry = typeof item.webkitGetAsEntry === "function" ? item.webkitGetAsEntry() : null;
        if (entry?.isDirectory) folders += 1;
        else {
          const file = item.getAsFile();
          if (file !== null) files.push(file);
        }
      }
    } else {
      files.push(...event.dataTransfer.files);
    }
    if (folders > 0) {
      announce(
        this.announcer,
        "Folders cannot be uploaded as they are. Open the folder and drop the files inside.",
      );
      this.showNotice("Folders cannot be uploaded as they are. Open the folder and drop the files inside.");
    }
    if (files.length > 0) this.add(files);
  }

  /** A line in the list for something refused before any upload started. */
  showNotice(text) {
    const li = el("li", { className: "upload", attrs: { "data-state": "failed" } });
    li.append(el("p", { className: "upload-meta", text }));
    this.list.hidden = false;
    this.list.prepend(li);
  }

  /** Files to upload, in order, with the form's settings as they are now. */
  add(files) {
    if (files.length === 0) return;
    if (!this.multiple && files.length > 1) {
      this.showNotice("Add one version at a time: choose or drop a single file.");
      announce(this.announcer, "Add one version at a time: choose or drop a single file.");
      return;
    }
    const title = files.length === 1 && this.title !== null ? this.title.value.trim() : "";
    if (title && this.title !== null) this.title.value = "";
    for (const file of files) {
      const fields = {};
      if (this.kind === "document") {
        fields.account = this.account;
        if (title) fields.title = title;
        if (this.folder?.value) fields.folder = this.folder.value;
        if (this.privileged?.checked) fields.privileged = "1";
      }
      const item = new UploadItem(file, fields, (it) => this.cancel(it));
      this.list.hidden = false;
      this.list.append(item.li);
      if (file.size > this.maxBytes) {
        // Refused here: sending gigabytes only to hear "too large" helps nobody.
        item.fail(`Larger than the limit of ${formatBytes(this.maxBytes)} per file, so it was not sent.`);
        announce(this.announcer, `${file.name} is too large to upload.`);
        continue;
      }
      this.queue.push(item);
    }
    this.next();
  }

  cancel(item) {
    if (item.state === "queued") {
      this.queue = this.queue.filter((queued) => queued !== item);
      item.cancelled();
      announce(this.announcer, `${item.file.name}: cancelled.`);
    } else if (item.state === "sending" && item.upload !== null) {
      item.upload.cancel();
    } else if (item.state === "interrupted" && item.upload !== null) {
      item.upload.abandon();
      item.cancelled();
      announce(this.announcer, `${item.file.name}: upload cancelled.`);
    }
  }

  resume(item) {
    if (item.state !== "interrupted") return;
    item.setState("queued");
    item.meta.textContent = "Waiting…";
    this.queue.push(item);
    this.next();
  }

  async next() {
    if (this.current !== null) return;
    const item = this.queue.shift();
    if (item === undefined) return;
    this.current = item;
    try {
      await this.send(item);
    } finally {
      this.current = null;
      this.next();
    }
  }

  async send(item) {
    item.sending();
    announce(this.announcer, `Uploading ${item.file.name}…`);
    const opening = { ...item.fields };
    if (this.kind === "version") opening.document = this.document;
    // A resumed item carries on with its own upload, whose session the server kept.
    const upload =
      item.upload ??
      new PartsUpload(item.file, {
        token: this.token,
        endpoint: this.form.dataset.endpoint,
        opening,
        onProgress: (sent, size) => {
          if (item.state === "sending") item.progress(sent, size);
        },
        onResumed: (received) => item.resumed(received),
        onRetry: (retry) => item.retrying(retry),
        onStoring: () => item.sealing(),
      });
    item.upload = upload;
    const answer = await upload.run();
    if (answer.cancelled) {
      item.cancelled();
      announce(this.announcer, `${item.file.name}: upload cancelled.`);
      return;
    }
    if (answer.resumable) {
      item.interrupted((it) => this.resume(it));
      announce(this.announcer, `${item.file.name}: the connection stayed away; the upload can be resumed.`);
      return;
    }
    if (answer.storedUnseen) {
      item.done("The connection dropped just as the file was stored. Reload the page to see it.");
      announce(this.announcer, `${item.file.name} was probably stored; reload the page to see it.`);
      return;
    }
    if (answer.status !== 201) {
      const text =
        answer.status === 0
          ? "The connection failed before the upload finished. Check your network and try again."
          : uploadErrorText(answer.status, answer.body, { limit: this.maxBytes });
      item.fail(text);
      announce(this.announcer, `${item.file.name} was not uploaded. ${text}`);
      return;
    }
    this.finish(item, answer.body);
  }

  finish(item, body) {
    let text;
    let link = null;
    if (this.kind === "document") {
      text = "Uploaded.";
      link = el("a", {
        text: "Open the document",
        attrs: { href: this.documentUrl.replace("__id__", encodeURIComponent(body.id)) },
      });
      link.append(el("span", { className: "visually-hidden", text: ` ${body.title}` }));
    } else {
      text = `Uploaded as version ${body.version.number}.`;
    }
    item.done(text, link);
    announce(this.announcer, `${item.file.name} uploaded.`);
    try {
      this.onUploaded(body, item);
    } catch (problem) {
      console.error("atrium: after the upload", problem);
    }
  }
}

function hasFiles(event) {
  return [...(event.dataTransfer?.types ?? [])].includes("Files");
}

/** A file dropped just beside a drop zone would replace the page with the file: refuse it. */
function guardWindowDrops() {
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (!hasFiles(event) || event.target.closest?.("[data-dropzone]")) return;
      event.preventDefault();
      if (type === "dragover") event.dataTransfer.dropEffect = "none";
    });
  }
}

// --- the documents list (vault page) ----------------------------------------------------------

let refreshing = Promise.resolve();

/** The list as the server renders it now, with the row of `documentId` marked new. */
function refreshDocuments(documentId) {
  refreshing = refreshing.then(async () => {
    const holder = document.querySelector("[data-vault-documents]");
    if (holder === null) return;
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "text/html" },
      });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.querySelector("[data-vault-documents]");
      if (fresh === null) return;
      const marked = [...holder.querySelectorAll("tr.is-new")].map((row) => row.dataset.document);
      holder.replaceChildren(...[...fresh.childNodes].map((node) => document.adoptNode(node)));
      localTimes(holder);
      for (const id of [...marked, documentId]) {
        holder.querySelector(`tr[data-document="${CSS.escape(id)}"]`)?.classList.add("is-new");
      }
    } catch (problem) {
      console.warn("atrium: the documents list was not refreshed", problem);
    }
  });
  return refreshing;
}

// --- versions (document page) ---------------------------------------------------------------

function copyButton(sha256, number) {
  const button = el("button", {
    className: "link-button copy-button",
    attrs: { type: "button", "data-copy": sha256, "data-copy-what": `the SHA-256 of version ${number}` },
  });
  button.append(
    el("span", { text: "Copy", attrs: { "data-copy-label": "" } }),
    el("span", { className: "visually-hidden", text: ` the SHA-256 of version ${number}` }),
  );
  return button;
}

function versionDetails(version) {
  const details = el("details", { className: "file-details" });
  const summary = el("summary", { text: "Details" });
  summary.append(el("span", { className: "visually-hidden", text: ` of version ${version.number}` }));
  const list = el("dl");
  const digest = el("dd");
  digest.append(el("code", { className: "sha", text: version.sha256 }), " ", copyButton(version.sha256, version.number));
  list.append(
    el("dt", { text: "Type" }),
    el("dd", { className: "mime", text: version.content_type }),
    el("dt", { text: "Size in bytes" }),
    el("dd", { text: String(version.size) }),
    el("dt", { text: "SHA-256" }),
    digest,
  );
  details.append(summary, list);
  return details;
}

/** A privileged document's thumbnails are not drawn: each would be recorded as a view. */
function versionRow(version, { privileged = false } = {}) {
  const row = el("tr", { className: "is-new", attrs: { "data-version": version.id } });
  const number = el("th", { className: "nowrap", text: `v${version.number} `, attrs: { scope: "row" } });
  number.append(el("span", { className: "badge", text: "Latest", attrs: { "data-latest-badge": "" } }));
  const file = el("td", { className: "filename", attrs: { "data-label": "File" } });
  const thumbnail = String(version.thumbnail_url ?? "");
  if (!privileged && thumbnail.startsWith("/")) {
    file.append(el("img", { className: "thumb", attrs: { src: thumbnail, alt: "", "data-thumbnail": "" } }));
  }
  file.append(el("span", { className: "file-name", text: version.filename }), versionDetails(version));
  const size = el("td", { className: "nowrap", text: formatBytes(version.size), attrs: { "data-label": "Size" } });
  const who = el("td", { text: version.uploaded_by?.name ?? "A former user", attrs: { "data-label": "Uploaded" } });
  const when = el("time", { className: "muted", attrs: { datetime: version.created_at, "data-local": "" } });
  formatTime(when);
  who.append(el("br"), when);
  const download = el("td", { attrs: { "data-label": "" } });
  const href = String(version.download_url ?? "");
  const link = el("a", {
    className: "download-link",
    attrs: { href: href.startsWith("/") ? href : "#" },
  });
  link.append(icon("download"), " Download");
  link.append(el("span", { className: "visually-hidden", text: ` version ${version.number}` }));
  download.append(link);
  row.append(number, file, size, who, download);
  for (const button of row.querySelectorAll("[data-copy]")) button.hidden = false;
  return row;
}

function addVersion(version) {
  const body = document.querySelector("[data-versions]");
  if (body === null) return;
  for (const badge of document.querySelectorAll("[data-latest-badge]")) badge.remove();
  body.prepend(versionRow(version, { privileged: body.hasAttribute("data-privileged") }));
  const latest = document.querySelector("[data-latest-number]");
  if (latest !== null) latest.textContent = `version ${version.number}`;
}

// --- copying a digest -----------------------------------------------------------------------

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API here (a page served over plain http), or it was refused.
  }
  const area = el("textarea", { className: "visually-hidden", attrs: { readonly: "", "aria-hidden": "true" } });
  area.value = text;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

function enableCopying() {
  const status = document.querySelector("[data-copy-status]");
  for (const button of document.querySelectorAll("[data-copy]")) button.hidden = false;
  document.addEventListener("click", async (event) => {
    const button = event.target.closest?.("[data-copy]");
    if (!button) return;
    const label = button.querySelector("[data-copy-label]");
    const what = button.dataset.copyWhat || "it";
    if (await copyText(button.dataset.copy)) {
      if (label !== null) label.textContent = "Copied";
      announce(status, `Copied ${what}.`);
      window.setTimeout(() => {
        if (label !== null) label.textContent = "Copy";
      }, COPIED_SHOWN_MS);
    } else {
      // Show it whole so it can be selected by hand.
      const code = button.parentElement.querySelector("code.sha");
      if (code !== null) code.textContent = button.dataset.copy;
      announce(status, `Could not copy ${what}; it is shown in full to select instead.`);
    }
  });
}

// --- start ----------------------------------------------------------------------------------

localTimes();
enableCopying();
const areas = document.querySelectorAll("[data-upload-area]");
if (areas.length > 0) guardWindowDrops();
for (const area of areas) {
  const kind = area.querySelector("[data-uploader]")?.dataset.kind;
  new Uploader(area, {
    onUploaded: kind === "version" ? (doc) => addVersion(doc.version) : (doc) => refreshDocuments(doc.id),
  });
}
