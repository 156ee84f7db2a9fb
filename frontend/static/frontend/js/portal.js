// What every signed-in page shares: the tab's one socket, people's presence dots and the
// notification bell in the top bar. The conversation pages import this module (and so reuse
// its socket); every other signed-in page loads it on its own.
//
// Text from the server (names, excerpts, titles) is only ever put into the page as text.

import { PortalSocket, socketUrl } from "./socket.js";

const PRESENCE_TEXT = { online: "online", away: "away", offline: "offline" };

/** The time zone the person chose in their profile (the page's ``data-time-zone``), or
 * undefined for the browser's own. The server renders times in the same zone. */
function readerZone() {
  const zone = document.body?.dataset.timeZone;
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

export const timeZone = readerZone();

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone });

/** A notification's summary, in the words of its kind as the app that declared it phrased it
 * (messaging.timeline.NoticeKind): "<strong>Sam Staff</strong> added a document in
 * <span class=bell-thread>General</span>"; any kind, known to this page or not. */
function summaryParts(data) {
  const actor = data.actor?.name ?? "Someone";
  const title = data.thread_title ?? "";
  const summary = typeof data.summary === "string" ? data.summary : `${actor} posted in ${title || "a conversation"}`;
  if (!summary.startsWith(`${actor} `)) return [el("span", { text: summary })];
  const rest = summary.slice(actor.length);
  const at = title ? rest.lastIndexOf(title) : -1;
  if (at < 0) return [el("strong", { text: actor }), rest];
  return [
    el("strong", { text: actor }),
    rest.slice(0, at),
    el("span", { className: "bell-thread", text: title }),
    rest.slice(at + title.length),
  ];
}

export function el(tag, { className = "", text = null, attrs = {} } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

export function safeStorage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** Is the page still signed in? A refused handshake looks like any other failure. */
async function checkSession() {
  try {
    const response = await fetch(window.location.href, {
      redirect: "manual",
      cache: "no-store",
      credentials: "same-origin",
    });
    if (response.type === "opaqueredirect") return "signed_out";
    return "ok";
  } catch {
    return "unknown";
  }
}

const meId = document.body.dataset.user ?? null;

/** The tab's one socket (null on pages without a signed-in person). */
export const socket =
  meId === null
    ? null
    : new PortalSocket({
        url: socketUrl(),
        storage: safeStorage(),
        storageKey: `atrium.outbox.${meId}`,
        checkSession,
      });

let started = false;

/** Connect, once per tab; listeners added before the first `hello` see it. */
export function startSocket() {
  if (socket === null || started) return;
  started = true;
  socket.start();
}

// --- presence -------------------------------------------------------------------------------

const presence = new Map(); // user id -> "online" | "away" | "offline"

function ownStatus() {
  return document.visibilityState === "hidden" ? "away" : "online";
}

export function presenceOf(userId) {
  if (userId === meId) return ownStatus();
  return presence.get(userId) ?? "offline";
}

function paintDot(dot) {
  const status = presenceOf(dot.dataset.presenceUser);
  if (dot.dataset.status === status) return;
  dot.dataset.status = status;
  dot.title = PRESENCE_TEXT[status];
  let text = dot.querySelector(".visually-hidden");
  if (text === null) {
    text = el("span", { className: "visually-hidden" });
    dot.append(text);
  }
  text.textContent = PRESENCE_TEXT[status];
}

/** A presence dot for `userId`, kept up to date while it is in the page. */
export function presenceDot(userId) {
  const dot = el("span", { className: "presence" });
  dot.dataset.presenceUser = userId;
  paintDot(dot);
  return dot;
}

function paintDots(userId = null) {
  const selector = userId === null ? "[data-presence-user]" : `[data-presence-user="${CSS.escape(userId)}"]`;
  for (const dot of document.querySelectorAll(selector)) paintDot(dot);
}

function onPresence(frame) {
  for (const user of frame.users ?? []) {
    if (typeof user?.id !== "string" || !(user.status in PRESENCE_TEXT)) continue;
    presence.set(user.id, user.status);
    paintDots(user.id);
  }
}

function sendOwnPresence() {
  socket.rawSend({ type: "presence.set", status: ownStatus() });
}

// --- the notification bell -------------------------------------------------------------------

class Bell {
  constructor(root) {
    this.root = root;
    this.button = root.querySelector("[data-bell-button]");
    this.badge = root.querySelector("[data-bell-count]");
    this.panel = root.querySelector("[data-bell-panel]");
    this.list = root.querySelector("[data-bell-list]");
    this.emptyLine = root.querySelector("[data-bell-empty]");
    this.unread = 0;
    this.items = new Map(); // notification id -> {data, li}
    this.loading = false;

    this.button.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) {
        event.preventDefault();
        this.close(true);
      }
    });
    document.addEventListener("click", (event) => {
      if (this.isOpen && !root.contains(event.target)) this.close();
    });
    root.addEventListener("focusout", (event) => {
      if (this.isOpen && event.relatedTarget !== null && !root.contains(event.relatedTarget)) this.close();
    });
    this.list.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-notification]");
      if (link !== null) this.markRead([link.dataset.notification]);
    });

    socket.on("hello", (hello) => this.setUnread(hello.notifications_unread ?? 0));
    socket.on("notification", (frame) => this.onNotification(frame));
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  setUnread(n) {
    this.unread = Math.max(0, n);
    this.badge.textContent = String(this.unread);
    this.badge.hidden = this.unread === 0;
    this.root.dataset.unread = String(this.unread);
    this.button.setAttribute(
      "aria-label",
      this.unread === 0 ? "Notifications" : `Notifications, ${this.unread} unread`,
    );
  }

  onNotification(frame) {
    if (typeof frame.id !== "string" || this.items.has(frame.id)) return;
    if (!frame.read) this.setUnread(this.unread + 1);
    this.render(frame, { prepend: true });
    // Seen at once when the list is open.
    if (this.isOpen && !frame.read) this.markRead([frame.id]);
  }

  async open() {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.panel.focus();
    if (this.loading) return;
    this.loading = true;
    this.emptyLine.textContent = "Loading…";
    this.emptyLine.hidden = this.items.size > 0;
    try {
      const reply = await socket.request({ type: "notifications" });
      this.list.replaceChildren();
      this.items.clear();
      for (const item of reply.notifications ?? []) this.render(item);
      this.setUnread(reply.unread ?? 0);
      this.emptyLine.textContent = "Nothing new. Mentions of you, documents added and status changes appear here.";
      this.emptyLine.hidden = this.items.size > 0;
      const unread = [...this.items.values()].filter((i) => !i.data.read).map((i) => i.data.id);
      if (unread.length > 0 && this.isOpen) await this.markRead(unread);
    } catch (problem) {
      this.emptyLine.textContent = problem.message || "Notifications could not be loaded.";
      this.emptyLine.hidden = false;
    } finally {
      this.loading = false;
    }
  }

  close(returnFocus = false) {
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (returnFocus) this.button.focus();
  }

  async markRead(ids) {
    const fresh = ids.filter((id) => this.items.get(id)?.data.read === false);
    if (fresh.length === 0) return;
    for (const id of fresh) this.setRead(id);
    this.setUnread(this.unread - fresh.length);
    try {
      await socket.request({ type: "notification.read", ids: fresh });
    } catch (problem) {
      console.warn("atrium: notifications not marked read", problem);
    }
  }

  setRead(id) {
    const item = this.items.get(id);
    if (item === undefined) return;
    item.data.read = true;
    item.li.classList.remove("unread");
    item.li.querySelector(".bell-new")?.remove();
  }

  render(data, { prepend = false } = {}) {
    const href =
      `/threads/${encodeURIComponent(data.thread)}/` + (Number.isInteger(data.seq) ? `#seq-${data.seq}` : "");
    const li = el("li", { className: data.read ? "bell-item" : "bell-item unread" });
    const link = el("a", { attrs: { href } });
    link.dataset.notification = data.id;
    const head = el("span", { className: "bell-item-head" });
    if (!data.read) head.append(el("span", { className: "bell-new", text: "New: " }));
    head.append(...summaryParts(data));
    li.dataset.kind = data.kind ?? "";
    const excerpt = el("span", { className: "bell-excerpt", text: data.excerpt ?? "" });
    const created = new Date(data.created_at);
    const time = el("time", {
      className: "bell-time",
      text: Number.isNaN(created.getTime()) ? "" : timeFormat.format(created),
      attrs: { datetime: data.created_at ?? "" },
    });
    link.append(head, excerpt, time);
    li.append(link);
    if (prepend) this.list.prepend(li);
    else this.list.append(li);
    this.items.set(data.id, { data: { ...data }, li });
    this.emptyLine.hidden = true;
  }
}

// --- start ---------------------------------------------------------------------------------

if (socket !== null) {
  socket.on("hello", () => {
    socket.rawSend({ type: "presence.subscribe" });
    if (ownStatus() !== "online") sendOwnPresence();
  });
  socket.on("presence", onPresence);
  socket.on("status", (status) => {
    if (status !== "open") {
      // Until the next snapshot nobody's state is known.
      presence.clear();
      paintDots();
    }
  });
  document.addEventListener("visibilitychange", () => {
    sendOwnPresence();
    paintDots(meId);
  });
  const bellRoot = document.querySelector("[data-bell]");
  if (bellRoot !== null) new Bell(bellRoot);
  // Pages with more to do (the conversations) add their listeners in this same task.
  queueMicrotask(startSocket);
}
