// The conversation pages: a thread's live message list, its composer, and the side list of
// conversations with unread badges. Message text is only ever put into the page as text
// (textContent and text nodes); links are built as <a> elements, never parsed from HTML.

import { linkedSeqToFetch, revealLinked } from "./linked_message.js";
import { NOTICE_RENDERERS, loadRenderers } from "./notices.js";
import { presenceDot, socket, startSocket, timeZone } from "./portal.js";
import { avatar } from "./ui.js";
import { PartsUpload, formatBytes } from "./uploads.js";

const MAX_BODY_CHARS = 10_000;
const COUNTER_FROM_CHARS = 9_000;
const HISTORY_PAGE = 50;
const TYPING_SHOWN_MS = 5_000;
const BADGE_THREADS = 50; // other threads followed live for their unread badges
const NEAR_BOTTOM_PX = 120;
const GROUP_WITHIN_MS = 5 * 60 * 1000;
const ANNOUNCE_AFTER_MS = 400;
const LINK = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'"»”’]+$/;

const STATUS_TEXT = {
  idle: "Connecting…",
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline. Reconnecting when your connection returns…",
  signed_out: "You have been signed out.",
  ended: "Your access has ended.",
};

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short", timeZone });

// --- text ---------------------------------------------------------------------------------

/** Split a trailing unbalanced ")" or sentence punctuation off a matched URL. */
function trimUrl(url) {
  let trimmed = url;
  for (;;) {
    const before = trimmed;
    trimmed = trimmed.replace(TRAILING_PUNCTUATION, "");
    if (trimmed.endsWith(")") && count(trimmed, "(") < count(trimmed, ")")) trimmed = trimmed.slice(0, -1);
    if (trimmed.endsWith("]") && count(trimmed, "[") < count(trimmed, "]")) trimmed = trimmed.slice(0, -1);
    if (trimmed === before) return trimmed;
  }
}

function count(text, char) {
  return text.split(char).length - 1;
}

function safeHttpUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** Message text as DOM nodes: text nodes, and <a> elements for http(s) links. */
export function linkify(text, doc = document) {
  const fragment = doc.createDocumentFragment();
  let done = 0;
  for (const match of text.matchAll(LINK)) {
    const raw = trimUrl(match[0]);
    const href = safeHttpUrl(raw);
    if (href === null || raw.length === 0) continue;
    fragment.append(doc.createTextNode(text.slice(done, match.index)));
    const link = doc.createElement("a");
    link.href = href;
    link.textContent = raw;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    fragment.append(link);
    done = match.index + raw.length;
  }
  fragment.append(doc.createTextNode(text.slice(done)));
  return fragment;
}

function el(tag, { className = "", text = null, attrs = {} } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(today);
  yesterday.setDate(today.getDate() - 1);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  const options = { weekday: "long", day: "numeric", month: "long" };
  if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(date);
}

function characters(text) {
  return [...text].length; // code points, as the server counts them
}

// --- unread badges --------------------------------------------------------------------------

/** Unread count of one thread: what hello counted (messages up to `baseSeq`), unless read
 * since, plus the messages by others that arrived live and are still unread. */
class Badge {
  constructor(summary) {
    this.base = summary.unread;
    this.baseSeq = summary.last_seq;
    this.readSeq = summary.last_read_seq;
    this.live = new Map(); // message id -> seq
  }

  get count() {
    return (this.readSeq >= this.baseSeq ? 0 : this.base) + this.live.size;
  }

  event(frame, me) {
    const message = frame.message;
    if (message === undefined) return; // not a message (a document added): not counted
    if (frame.type === "message.new") {
      if (message.author.id === me) {
        this.read(frame.seq); // sending marks the thread read up to one's own message
      } else if (!message.deleted && frame.seq > this.baseSeq && frame.seq > this.readSeq) {
        this.live.set(message.id, frame.seq);
      }
    } else if (frame.type === "message.deleted") {
      this.live.delete(message.id);
    }
  }

  read(seq) {
    if (seq <= this.readSeq) return;
    this.readSeq = seq;
    for (const [id, at] of this.live) if (at <= seq) this.live.delete(id);
  }
}

// --- the page -------------------------------------------------------------------------------

class ChatPage {
  constructor(root, data) {
    this.root = root;
    this.me = data.me;
    this.threadId = data.thread?.id ?? null;
    this.data = data;
    this.baseTitle = document.title;
    this.badges = new Map();
    this.links = new Map();
    for (const link of document.querySelectorAll(".thread-nav a[data-thread]")) {
      this.links.set(link.dataset.thread, link);
    }
    this.status = document.querySelector(".conn-status");
    this.socket = socket; // the tab's one socket, shared with the bell and presence
    if (this.threadId !== null) this.initThread(data);
    this.bindSocket();
  }

  // --- wiring -------------------------------------------------------------------------------

  bindSocket() {
    const socket = this.socket;
    socket.on("status", (status) => this.showStatus(status));
    socket.on("hello", (hello) => this.onHello(hello));
    socket.on("event", (frame) => this.onEvent(frame));
    socket.on("skipped", (frame) => this.onSkipped(frame));
    socket.on("subscribed", (frame) => {
      if (frame.thread === this.threadId) {
        this.root.dataset.live = "true";
        this.maybeMarkRead();
      }
    });
    socket.on("read", (frame) => this.onRead(frame.thread, frame.seq));
    socket.on("ok", (frame) => {
      if (frame.for === "read") this.onRead(frame.thread, frame.seq);
    });
    socket.on("typing", (frame) => this.onTyping(frame));
    socket.on("thread.removed", (frame) => this.onThreadRemoved(frame.thread));
    socket.on("ack", (ack) => this.onAck(ack));
    socket.on("send-failed", (entry) => this.renderPending(entry));
    socket.on("outbox", (entry) => this.renderPending(entry));
    socket.on("error", (frame) => {
      if (frame.code !== "not_subscribed") console.warn("atrium:", frame.code, frame.message);
    });
    window.addEventListener("focus", () => this.maybeMarkRead());
    document.addEventListener("visibilitychange", () => this.maybeMarkRead());
  }

  start() {
    if (this.threadId !== null) {
      this.socket.track(this.threadId, { after: this.data.lastSeq, mode: "full" });
      for (const entry of this.socket.pending(this.threadId)) this.renderPending(entry);
      this.relayout();
      if (!this.scrollToLinkedMessage()) {
        this.scrollToFirstUnread();
        this.linkedSeq = linkedSeqToFetch(this);
      }
      window.addEventListener("hashchange", () => {
        if (this.scrollToLinkedMessage()) return;
        this.linkedSeq = linkedSeqToFetch(this);
        if (this.linkedSeq !== null && this.socket.isOpen) this.revealLinkedMessage();
      });
    }
    this.showStatus(this.socket.status);
    startSocket();
  }

  showStatus(status) {
    if (this.status === null) return;
    this.status.dataset.connection = status;
    if (status !== "open") this.root.dataset.live = "false";
    this.status.textContent = STATUS_TEXT[status] ?? status;
    if (status === "signed_out") {
      const link = el("a", {
        text: "Sign in again",
        attrs: { href: `/login/?next=${encodeURIComponent(window.location.pathname)}` },
      });
      this.status.append(" ", link);
    }
    if (this.threadId === null) return;
    if (status === "signed_out" || status === "ended") {
      this.enableComposer(false);
      this.notice(STATUS_TEXT[status]);
    } else if (status !== "open") {
      this.loadEarlierButton.disabled = true;
    } else {
      this.loadEarlierButton.disabled = false;
      if (this.linkedSeq != null) this.revealLinkedMessage();
    }
    for (const entry of this.socket.pending(this.threadId)) this.renderPending(entry);
  }

  onHello(hello) {
    this.badges.clear();
    for (const summary of hello.threads) this.badges.set(summary.id, new Badge(summary));
    // A hello counted before this page's own `read` was stored must not bring the badge back.
    if (this.threadId !== null) this.badges.get(this.threadId)?.read(this.readSent);
    // Follow the other listed threads for their badges: the newest first, up to a limit.
    let followed = 0;
    for (const summary of hello.threads) {
      if (summary.id === this.threadId || !this.links.has(summary.id)) continue;
      if (followed++ >= BADGE_THREADS) break;
      this.socket.track(summary.id, { after: summary.last_seq, mode: "badge" });
    }
    for (const id of this.links.keys()) {
      if (!this.badges.has(id)) this.onThreadRemoved(id);
    }
    this.renderBadges();
  }

  onEvent(frame) {
    const badge = this.badges.get(frame.thread);
    if (badge !== undefined) {
      badge.event(frame, this.me.id);
      this.renderBadges();
    }
    if (frame.thread === this.threadId) this.applyLive(frame);
  }

  /** Back after a long time away: the server replayed only its newest events. What the page
   * shows is older than the gap, so it goes, and "Load earlier messages" pages back. */
  onSkipped({ thread, first_seq: firstSeq }) {
    if (thread !== this.threadId) return;
    for (const item of this.list.querySelectorAll("li.msg[data-seq]")) {
      if (Number(item.dataset.seq) >= firstSeq) continue;
      if (item.dataset.id) this.messages.delete(item.dataset.id);
      item.remove();
    }
    this.hasMore = true;
    this.loadEarlierButton.hidden = false;
    this.relayout();
  }

  onRead(thread, seq) {
    this.badges.get(thread)?.read(seq);
    this.renderBadges();
  }

  renderBadges() {
    let total = 0;
    for (const [id, badge] of this.badges) {
      const n = badge.count;
      total += n;
      const link = this.links.get(id);
      if (link === undefined) continue;
      const holder = link.querySelector("[data-unread]");
      holder.querySelector("[data-count]").textContent = String(n);
      holder.hidden = n === 0;
      link.classList.toggle("has-unread", n > 0);
    }
    document.title = total > 0 ? `(${total}) ${this.baseTitle}` : this.baseTitle;
  }

  onThreadRemoved(thread) {
    this.badges.delete(thread);
    const link = this.links.get(thread);
    if (link !== undefined) {
      const item = link.closest("li");
      const group = item.closest(".thread-group");
      item.remove();
      if (group !== null && group.querySelector("li") === null) group.remove();
      this.links.delete(thread);
    }
    this.renderBadges();
    if (thread === this.threadId) {
      this.enableComposer(false);
      this.loadEarlierButton.hidden = true;
      this.notice("You no longer have access to this conversation.");
    }
  }

  // --- the thread ---------------------------------------------------------------------------

  initThread(data) {
    const root = this.root;
    this.scroller = root.querySelector(".chat-scroll");
    this.list = root.querySelector("ol.messages");
    this.empty = root.querySelector(".chat-empty");
    this.loadEarlierButton = root.querySelector("[data-load-earlier]");
    this.jumpButton = root.querySelector(".jump-latest");
    this.typingLine = root.querySelector(".typing");
    this.noticeLine = root.querySelector(".chat-notice");
    this.form = root.querySelector("form.composer");
    this.input = this.form.querySelector("textarea");
    this.sendButton = this.form.querySelector("button[type=submit]");
    this.formError = this.form.querySelector(".composer-error");
    this.attachButton = null;
    this.setUpAttach();
    this.announcer = document.querySelector("[data-announcer]");
    this.messages = new Map(); // message id -> <li>
    this.confirmed = new Set(); // client ids of one's own messages shown as stored
    this.pendings = new Map(); // client_id -> <li>
    this.typers = new Map(); // user id -> {name, timer}
    this.announcements = [];
    this.announceTimer = null;
    this.hasMore = data.hasMore;
    this.readSent = data.lastReadSeq;
    this.unreadAfter = data.lastReadSeq; // the "New messages" divider goes after this seq
    this.draftKey = `atrium.draft.${this.threadId}`;

    for (const frame of data.events) this.place(frame);
    this.loadEarlierButton.hidden = !this.hasMore;

    this.loadEarlierButton.addEventListener("click", () => this.loadEarlier());
    this.jumpButton.addEventListener("click", () => {
      this.scrollToBottom();
      this.input.focus();
    });
    this.scroller.addEventListener("scroll", () => {
      if (this.nearBottom()) this.jumpButton.hidden = true;
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener("input", () => {
      this.autosize();
      this.saveDraft();
      this.checkLength();
      if (this.input.value.trim() !== "") this.socket.typing(this.threadId);
    });
    this.list.addEventListener("click", (event) => this.onListClick(event));
    const draft = safeStorage()?.getItem(this.draftKey);
    if (draft) {
      this.input.value = draft;
      this.autosize();
    }
    // Typing is possible at once: what is sent before the socket is up waits in the outbox.
    this.enableComposer(true);
    this.initMute();
  }

  /** "Mute e-mail about this conversation": the box shows the stored state. */
  initMute() {
    const box = document.querySelector("input[data-mute]");
    const state = document.querySelector("[data-mute-state]");
    if (box === null || state === null) return;
    box.addEventListener("change", async () => {
      const muted = box.checked;
      box.disabled = true;
      state.textContent = "Saving…";
      try {
        const reply = await this.socket.request({ type: "thread.mute", thread: this.threadId, muted });
        box.checked = reply.muted ?? muted;
        state.textContent = box.checked ? "No e-mail about new messages here." : "";
      } catch (problem) {
        box.checked = !muted;
        state.textContent = `Not changed: ${problem.message || "try again."}`;
      } finally {
        box.disabled = false;
      }
    });
  }

  enableComposer(enabled) {
    if (this.threadId === null) return;
    if (this.form.hidden) enabled = false; // a closed conversation takes no more messages
    this.input.disabled = !enabled;
    this.sendButton.disabled = !enabled;
    if (this.attachButton !== null) this.attachButton.disabled = !enabled;
  }

  // Sharing files ------------------------------------------------------------------------------

  /** The Attach button: files go to the vault in parts and arrive here as a message. */
  setUpAttach() {
    this.attachButton = this.form.querySelector("[data-attach-button]");
    this.fileInput = this.form.querySelector("input[data-attach]");
    this.uploadList = document.querySelector("[data-composer-uploads]");
    this.token = this.form.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
    this.maxBytes = Number(this.form.dataset.maxBytes);
    this.shareQueue = Promise.resolve();
    if (this.attachButton === null || this.fileInput === null) return;
    this.attachButton.addEventListener("click", () => this.fileInput.click());
    this.fileInput.addEventListener("change", () => {
      const files = [...this.fileInput.files];
      this.fileInput.value = "";
      // What is written goes with the first file, as its message.
      let note = this.input.value.trim();
      if (files.length > 0 && note !== "") {
        this.input.value = "";
        this.autosize();
        this.saveDraft();
      }
      for (const file of files) {
        const fileNote = note;
        note = "";
        this.shareQueue = this.shareQueue.then(() => this.share(file, fileNote));
      }
    });
  }

  async share(file, note) {
    const row = el("li", { className: "composer-upload", attrs: { "data-state": "sending" } });
    const name = el("span", { text: file.name });
    const cancel = el("button", { className: "link-button", text: "Cancel", attrs: { type: "button" } });
    const bar = el("progress", { attrs: { max: "100", value: "0", "aria-label": `Sharing ${file.name}` } });
    const meta = el("span", { className: "composer-upload-meta muted", text: formatBytes(file.size) });
    row.append(name, cancel, bar, meta);
    this.uploadList.hidden = false;
    this.uploadList.append(row);
    const finish = (state, text) => {
      row.dataset.state = state;
      meta.textContent = text;
      cancel.textContent = "Dismiss";
      cancel.onclick = () => {
        row.remove();
        this.uploadList.hidden = this.uploadList.children.length === 0;
      };
    };
    if (file.size > this.maxBytes) {
      finish("failed", `Larger than the limit of ${formatBytes(this.maxBytes)}, so it was not sent.`);
      return;
    }
    const upload = new PartsUpload(file, {
      token: this.token,
      opening: { thread: this.threadId, note },
      onProgress: (sent, size) => {
        bar.value = size > 0 ? Math.floor((100 * sent) / size) : 100;
        meta.textContent = `${bar.value}% · ${formatBytes(sent)} of ${formatBytes(size)}`;
      },
      onResumed: (received) => {
        bar.value = file.size > 0 ? Math.floor((100 * received) / file.size) : 0;
        meta.textContent = `Resuming from ${formatBytes(received)} of ${formatBytes(file.size)}…`;
      },
      onRetry: ({ waitMs, offline }) => {
        meta.textContent = offline
          ? "You are offline. Sharing goes on by itself when the connection is back…"
          : `The connection dropped; trying again in ${Math.max(1, Math.round(waitMs / 1000))} s…`;
      },
      onStoring: () => {
        bar.value = 100;
        meta.textContent = "Sent · checking and storing…";
      },
    });
    cancel.onclick = () => upload.cancel();
    const answer = await upload.run();
    if (answer.cancelled) {
      finish("cancelled", "Cancelled.");
      if (note) this.restoreNote(note);
      return;
    }
    if (answer.storedUnseen) {
      // The message carrying the file arrives over the socket once the connection is back.
      finish("done", "Shared; the connection dropped as it was stored.");
      return;
    }
    if (answer.status !== 201) {
      const message = answer.body?.error?.message;
      finish(
        "failed",
        answer.resumable
          ? "The connection stayed away. Share the same file again, with the same note, to go on from where it stopped."
          : answer.status === 0
            ? "The connection failed before the file was sent. Try again."
            : (message ?? `The file was not shared (error ${answer.status}).`),
      );
      if (note) this.restoreNote(note);
      return;
    }
    // The message carrying the file arrives over the socket like any other.
    row.remove();
    this.uploadList.hidden = this.uploadList.children.length === 0;
  }

  /** Give back what was written when its file could not be shared. */
  restoreNote(note) {
    if (this.input.value.trim() === "") {
      this.input.value = note;
      this.autosize();
      this.saveDraft();
    }
  }

  notice(text) {
    this.noticeLine.textContent = text;
    this.noticeLine.hidden = false;
  }

  // Rendering ---------------------------------------------------------------------------------

  /** Show a stored event of the thread: a message, or a notice (notices.js). */
  place(frame) {
    if (frame.type === "message.new") return this.upsert(frame.message, frame.seq);
    return this.upsertNotice(frame);
  }

  /** Put an item into the list in seq order, before any pending (unacknowledged) sends. */
  insertBySeq(item, seq) {
    let after = null;
    const items = this.list.querySelectorAll("li.msg[data-seq]");
    for (let i = items.length - 1; i >= 0; i -= 1) {
      if (Number(items[i].dataset.seq) < seq) {
        after = items[i];
        break;
      }
    }
    if (after !== null) after.after(item);
    else this.list.prepend(item);
  }

  /** A thread event that is not a message (a document added, a matter's status changed),
   * drawn by its type's renderer (notices.js); once, whatever way it arrives. One without a
   * renderer, or whose renderer fails, is skipped (null). */
  upsertNotice(frame) {
    const render = Object.hasOwn(NOTICE_RENDERERS, frame.type) ? NOTICE_RENDERERS[frame.type] : undefined;
    if (render === undefined) return null;
    const existing = document.getElementById(`seq-${frame.seq}`);
    if (existing !== null) return existing;
    const item = render(frame);
    if (item === null) return null;
    this.insertBySeq(item, frame.seq);
    return item;
  }

  /** Show a message as it is now; the same message twice updates it in place. */
  upsert(message, seq) {
    const existing = this.messages.get(message.id);
    if (existing !== undefined) {
      this.fill(existing, message);
      return existing;
    }
    if (message.author.id === this.me.id && message.client_id) {
      this.confirmed.add(message.client_id);
      this.dropPending(message.client_id);
    }
    const item = this.build(message, seq);
    this.messages.set(message.id, item);
    this.insertBySeq(item, seq);
    return item;
  }

  build(message, seq) {
    const own = message.author.id === this.me.id;
    const item = el("li", { className: own ? "msg own" : "msg" });
    item.dataset.id = message.id;
    item.dataset.seq = String(seq);
    item.dataset.author = message.author.id;
    item.dataset.created = message.created_at;
    item.id = `seq-${seq}`;
    item.tabIndex = -1;
    const face = el("span", { className: "avatar-wrap" });
    face.append(avatar(message.author, "sm"));
    face.append(presenceDot(message.author.id));
    item.append(face);
    const main = el("div", { className: "msg-main" });
    const meta = el("p", { className: "msg-meta" });
    meta.append(el("span", { className: "msg-author", text: message.author.name }), " ");
    const created = new Date(message.created_at);
    meta.append(
      el("time", {
        text: timeFormat.format(created),
        attrs: { datetime: message.created_at, title: fullFormat.format(created) },
      }),
    );
    const edited = el("span", { className: "msg-edited", text: " (edited)" });
    edited.hidden = true;
    meta.append(edited);
    main.append(meta, el("div", { className: "msg-body" }));
    if (own) {
      const actions = el("div", { className: "msg-actions" });
      actions.append(
        el("button", { className: "link-button", text: "Edit", attrs: { type: "button", "data-action": "edit" } }),
        el("button", { className: "link-button", text: "Delete", attrs: { type: "button", "data-action": "delete" } }),
      );
      main.append(actions);
    }
    item.append(main);
    this.fill(item, message);
    return item;
  }

  fill(item, message) {
    const body = item.querySelector(".msg-body");
    if (message.deleted) {
      item.classList.add("deleted");
      body.replaceChildren(document.createTextNode("This message was deleted."));
      item.querySelector(".msg-actions")?.remove();
      item.querySelector(".msg-edit")?.remove();
      item.querySelector(".msg-confirm")?.remove();
      body.hidden = false;
    } else {
      body.replaceChildren(linkify(message.body));
      body.hidden = message.body === "" && (message.attachments ?? []).length > 0;
    }
    this.fillFiles(item, message.deleted ? [] : (message.attachments ?? []));
    const edited = item.querySelector(".msg-edited");
    edited.hidden = !message.edited_at || message.deleted;
    if (message.edited_at) edited.title = `Edited ${fullFormat.format(new Date(message.edited_at))}`;
  }

  /** The files a message shares: name, size and a download link each. */
  fillFiles(item, files) {
    item.querySelector(".msg-files")?.remove();
    if (files.length === 0) return;
    const list = el("ul", { className: "msg-files", attrs: { "aria-label": "Files" } });
    for (const file of files) {
      const entry = el("li", { className: "msg-file" });
      entry.append(
        el("a", {
          className: "msg-file-name",
          text: file.filename ?? file.title ?? "file",
          attrs: { href: `/vault/documents/${encodeURIComponent(file.document ?? "")}/` },
        }),
        // Name and size: the type and digest are on the document's page, under Details.
        el("span", { className: "muted", text: formatBytes(file.size) }),
      );
      if (typeof file.download_url === "string" && file.download_url.startsWith("/api/v1/vault/")) {
        entry.append(el("a", { text: "Download", attrs: { href: file.download_url, download: file.filename ?? "" } }));
      }
      list.append(entry);
    }
    item.querySelector(".msg-body").after(list);
  }

  renderPending(entry) {
    if (this.threadId === null || entry.thread !== this.threadId) return;
    if (this.confirmed.has(entry.client_id)) return; // stored already; only the ack was lost
    let item = this.pendings.get(entry.client_id);
    if (item === undefined) {
      item = el("li", { className: "msg own pending" });
      item.dataset.clientId = entry.client_id;
      item.append(avatar(this.me, "sm"));
      const main = el("div", { className: "msg-main" });
      const meta = el("p", { className: "msg-meta" });
      meta.append(el("span", { className: "msg-author", text: this.me.name }), " ", el("span", { className: "msg-state" }));
      const body = el("div", { className: "msg-body" });
      body.append(linkify(entry.body));
      main.append(meta, body, el("div", { className: "msg-actions" }));
      item.append(main);
      this.pendings.set(entry.client_id, item);
      this.list.append(item);
      this.updateEmpty();
    }
    const failed = entry.state === "failed";
    item.classList.toggle("failed", failed);
    const state = item.querySelector(".msg-state");
    const actions = item.querySelector(".msg-actions");
    actions.replaceChildren();
    if (failed) {
      state.textContent = `Not sent: ${entry.error?.message ?? "refused"}`;
      actions.append(
        el("button", { className: "link-button", text: "Try again", attrs: { type: "button", "data-action": "retry" } }),
        el("button", { className: "link-button", text: "Discard", attrs: { type: "button", "data-action": "discard" } }),
      );
    } else {
      state.textContent = this.socket.isOpen ? "Sending…" : "Waiting for the connection…";
    }
  }

  dropPending(clientId) {
    const item = this.pendings.get(clientId);
    if (item === undefined) return;
    item.remove();
    this.pendings.delete(clientId);
  }

  onAck(ack) {
    if (ack.thread !== this.threadId) return;
    // The message itself arrives as message.new (before or after the ack).
    if (ack.id && this.messages.has(ack.id)) this.dropPending(ack.client_id);
  }

  /** Day separators, runs of one author and the "New messages" divider, from scratch. */
  relayout() {
    for (const marker of this.list.querySelectorAll("li.day-sep, li.unread-sep")) marker.remove();
    let previous = null;
    let divided = false;
    for (const item of this.list.querySelectorAll("li.msg")) {
      const confirmed = item.dataset.seq !== undefined;
      const created = confirmed ? new Date(item.dataset.created) : new Date();
      const newDay = previous === null || previous.date.toDateString() !== created.toDateString();
      if (newDay && confirmed) {
        item.before(el("li", { className: "day-sep", text: dayLabel(created) }));
      }
      if (
        confirmed &&
        !divided &&
        Number(item.dataset.seq) > this.unreadAfter &&
        item.dataset.author !== this.me.id &&
        !item.classList.contains("deleted")
      ) {
        item.before(el("li", { className: "unread-sep", text: "New messages" }));
        divided = true;
      }
      const author = confirmed ? item.dataset.author : this.me.id;
      const continued =
        previous !== null &&
        !newDay &&
        previous.author === author &&
        created - previous.date < GROUP_WITHIN_MS &&
        !item.previousElementSibling?.classList.contains("unread-sep");
      item.classList.toggle("continued", continued);
      previous = { author, date: created };
    }
    this.updateEmpty();
  }

  updateEmpty() {
    this.empty.hidden = this.list.querySelector("li.msg") !== null;
  }

  // Live events ------------------------------------------------------------------------------

  applyLive(frame) {
    const stick = this.nearBottom();
    const message = frame.message;
    if (frame.message === undefined) {
      // A notice, or an event this page does not show (its position still counts).
      if (this.upsertNotice(frame) === null) return this.maybeMarkRead();
      this.relayout();
      if (stick) this.scrollToBottom();
      else this.jumpButton.hidden = false;
      this.maybeMarkRead();
      return;
    }
    if (frame.type === "message.new") {
      const fromOther = message.author.id !== this.me.id;
      if (fromOther && !this.isActive() && this.list.querySelector("li.unread-sep") === null) {
        // Coming back to the tab, the reader sees where the new messages start.
        this.unreadAfter = frame.seq - 1;
      }
      this.upsert(message, frame.seq);
      this.relayout();
      if (fromOther) {
        this.stopTyping(message.author.id);
        if (!message.deleted) this.announce(message);
      }
      if (stick || !fromOther) this.scrollToBottom();
      else this.jumpButton.hidden = false;
    } else {
      const item = this.messages.get(message.id);
      if (item !== undefined) {
        this.fill(item, message);
        this.relayout();
      }
      if (stick) this.scrollToBottom();
    }
    this.maybeMarkRead();
  }

  announce(message) {
    this.announcements.push(message);
    clearTimeout(this.announceTimer);
    this.announceTimer = setTimeout(() => {
      const batch = this.announcements;
      this.announcements = [];
      if (batch.length === 1) {
        const text = batch[0].body.length > 200 ? `${batch[0].body.slice(0, 200)}…` : batch[0].body;
        this.announcer.textContent = `${batch[0].author.name}: ${text}`;
      } else {
        this.announcer.textContent = `${batch.length} new messages.`;
      }
    }, ANNOUNCE_AFTER_MS);
  }

  onTyping(frame) {
    if (frame.thread !== this.threadId || frame.user?.id === this.me.id) return;
    const previous = this.typers.get(frame.user.id);
    if (previous !== undefined) clearTimeout(previous.timer);
    const timer = setTimeout(() => this.stopTyping(frame.user.id), TYPING_SHOWN_MS);
    this.typers.set(frame.user.id, { name: frame.user.name, timer });
    this.renderTyping();
  }

  stopTyping(userId) {
    const typer = this.typers.get(userId);
    if (typer === undefined) return;
    clearTimeout(typer.timer);
    this.typers.delete(userId);
    this.renderTyping();
  }

  renderTyping() {
    const names = [...this.typers.values()].map((t) => t.name);
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = "Several people are typing…";
    this.typingLine.textContent = text;
  }

  // Reading ------------------------------------------------------------------------------------

  isActive() {
    return document.visibilityState === "visible" && document.hasFocus();
  }

  maybeMarkRead() {
    if (this.threadId === null || !this.isActive() || !this.socket.isSubscribed(this.threadId)) return;
    const seq = this.socket.lastSeq(this.threadId);
    const badge = this.badges.get(this.threadId);
    if (seq <= this.readSent || (badge !== undefined && badge.readSeq >= seq)) return;
    const before = this.readSent;
    this.readSent = seq;
    this.onRead(this.threadId, seq);
    this.socket.markRead(this.threadId, seq).catch(() => {
      this.readSent = before; // tried again on the next event, focus or reconnect
    });
  }

  // History ------------------------------------------------------------------------------------

  oldestSeq() {
    const first = this.list.querySelector("li.msg[data-seq]");
    return first === null ? this.socket.lastSeq(this.threadId) + 1 : Number(first.dataset.seq);
  }

  async loadEarlier() {
    const button = this.loadEarlierButton;
    button.disabled = true;
    button.textContent = "Loading…";
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    try {
      const reply = await this.socket.history(this.threadId, { before: this.oldestSeq(), limit: HISTORY_PAGE });
      let first = null;
      for (const frame of reply.events) {
        const item = this.place(frame);
        if (item !== null) first ??= item;
      }
      this.relayout();
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
      this.hasMore = reply.has_more;
      button.hidden = !this.hasMore;
      if (!this.hasMore && first !== null) first.focus({ preventScroll: true });
    } catch (problem) {
      this.announcer.textContent = "Earlier messages could not be loaded.";
      console.warn("atrium: history failed", problem);
    } finally {
      button.textContent = "Load earlier messages";
      button.disabled = !this.socket.isOpen;
    }
  }

  // Scrolling ----------------------------------------------------------------------------------

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.jumpButton.hidden = true;
  }

  /** A link to one message (`#seq-12`, from a notification): show and focus it. */
  scrollToLinkedMessage() {
    const match = /^#seq-(\d+)$/.exec(window.location.hash);
    const item = match === null ? null : document.getElementById(`seq-${match[1]}`);
    if (item === null || !this.list.contains(item)) return false;
    this.scroller.scrollTop = Math.max(0, item.offsetTop - this.scroller.clientHeight / 3);
    for (const other of this.list.querySelectorAll("li.msg.is-linked")) other.classList.remove("is-linked");
    item.classList.add("is-linked");
    item.focus({ preventScroll: true });
    return true;
  }

  /** Page back to a `#seq-N` older than the page shows (linked_message.js). */
  async revealLinkedMessage() {
    const target = this.linkedSeq;
    this.linkedSeq = null;
    await revealLinked(this, target);
  }

  scrollToFirstUnread() {
    this.scrollToBottom();
    const divider = this.list.querySelector("li.unread-sep");
    if (divider !== null && divider.offsetTop < this.scroller.scrollTop) {
      this.scroller.scrollTop = divider.offsetTop - 16;
    }
  }

  // Composing ----------------------------------------------------------------------------------

  autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 220)}px`;
  }

  saveDraft() {
    const storage = safeStorage();
    if (storage === null) return;
    try {
      if (this.input.value) storage.setItem(this.draftKey, this.input.value);
      else storage.removeItem(this.draftKey);
    } catch {
      // A draft is a convenience.
    }
  }

  checkLength() {
    const n = characters(this.input.value.trim());
    if (n > MAX_BODY_CHARS) {
      this.showFormError(`Messages are limited to 10,000 characters; this one has ${n.toLocaleString()}.`);
      return false;
    }
    if (n > COUNTER_FROM_CHARS) this.showFormError(`${(MAX_BODY_CHARS - n).toLocaleString()} characters left.`);
    else this.showFormError("");
    return true;
  }

  showFormError(text) {
    this.formError.textContent = text;
    this.formError.hidden = text === "";
  }

  send() {
    if (this.input.disabled) return;
    const body = this.input.value.trim();
    if (body === "" || !this.checkLength()) return;
    const entry = this.socket.sendMessage(this.threadId, body);
    this.renderPending(entry);
    this.relayout();
    this.input.value = "";
    this.autosize();
    this.saveDraft();
    this.showFormError("");
    this.scrollToBottom();
  }

  // Editing and deleting one's own messages ---------------------------------------------------

  onListClick(event) {
    const button = event.target.closest("button[data-action]");
    if (button === null) return;
    const item = button.closest("li.msg");
    const action = button.dataset.action;
    if (action === "retry") {
      this.socket.retry(item.dataset.clientId);
    } else if (action === "discard") {
      this.socket.discard(item.dataset.clientId);
      this.dropPending(item.dataset.clientId);
      this.relayout();
    } else if (action === "edit") {
      this.startEdit(item);
    } else if (action === "delete") {
      this.confirmDelete(item);
    }
  }

  startEdit(item) {
    if (item.querySelector(".msg-edit") !== null) return;
    const body = item.querySelector(".msg-body");
    const original = body.textContent;
    const form = el("form", { className: "msg-edit" });
    const id = `edit-${item.dataset.id}`;
    const label = el("label", { className: "visually-hidden", text: "Edit your message", attrs: { for: id } });
    const input = el("textarea", { attrs: { id, rows: "2" } });
    input.value = original;
    const error = el("p", { className: "error", attrs: { role: "alert" } });
    const save = el("button", { className: "button--primary button--small", text: "Save", attrs: { type: "submit" } });
    const cancel = el("button", { className: "button--small", text: "Cancel", attrs: { type: "button" } });
    const buttons = el("div", { className: "msg-edit-buttons" });
    buttons.append(save, cancel);
    form.append(label, input, buttons, error);
    body.hidden = true;
    item.querySelector(".msg-actions").hidden = true;
    body.after(form);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);

    const close = () => {
      form.remove();
      body.hidden = false;
      const actions = item.querySelector(".msg-actions");
      if (actions !== null) {
        actions.hidden = false;
        actions.querySelector("[data-action=edit]")?.focus();
      }
    };
    const submit = async () => {
      const text = input.value.trim();
      if (text === "") {
        error.textContent = "A message needs some text. To remove it, delete it.";
        return;
      }
      if (text === original.trim()) {
        close();
        return;
      }
      if (characters(text) > MAX_BODY_CHARS) {
        error.textContent = "Messages are limited to 10,000 characters.";
        return;
      }
      save.disabled = true;
      try {
        await this.socket.editMessage(item.dataset.id, text);
        close();
      } catch (problem) {
        error.textContent = problem.message || "The message could not be changed.";
        save.disabled = false;
      }
    };
    cancel.addEventListener("click", close);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
  }

  confirmDelete(item) {
    if (item.querySelector(".msg-confirm") !== null) return;
    const actions = item.querySelector(".msg-actions");
    const box = el("div", { className: "msg-confirm", attrs: { role: "group", "aria-label": "Delete this message?" } });
    const yes = el("button", { className: "button--danger button--small", text: "Delete", attrs: { type: "button" } });
    const no = el("button", { className: "button--small", text: "Keep it", attrs: { type: "button" } });
    const error = el("span", { className: "error", attrs: { role: "alert" } });
    box.append(el("span", { text: "Delete this message? " }), yes, " ", no, " ", error);
    actions.hidden = true;
    actions.after(box);
    no.focus();
    const close = () => {
      box.remove();
      actions.hidden = false;
      actions.querySelector("[data-action=delete]")?.focus();
    };
    no.addEventListener("click", close);
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await this.socket.deleteMessage(item.dataset.id);
        box.remove();
        this.input.focus();
      } catch (problem) {
        error.textContent = problem.message || "The message could not be deleted.";
        yes.disabled = false;
      }
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
  }
}

function safeStorage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

const root = document.querySelector("[data-chat]");
const dataNode = document.getElementById("chat-data");
if (root !== null && dataNode !== null) {
  // The renderers first: the page's first events and everything live are drawn with them.
  loadRenderers().then(() => new ChatPage(root, JSON.parse(dataNode.textContent)).start());
}
