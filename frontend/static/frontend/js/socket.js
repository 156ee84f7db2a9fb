// The portal's WebSocket client, protocol version 1 (docs/protocol.md).
//
// One socket per tab. It reconnects with exponential backoff and jitter; after every
// (re)connect, once the server's `hello` arrives, it subscribes again to each thread it
// tracks from the last `seq` it applied, so the server replays exactly what was missed (or,
// a long way behind, the newest batch: then "skipped" says from where, and the page pages
// what came before with `history`). Thread events are applied once each and in order. Messages are kept in an
// outbox until acknowledged and sent again after a reconnect with the same `client_id`,
// which the server stores once. A ping notices connections that died without a close.

export const PROTOCOL_VERSION = 1;
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
const OFFLINE_RETRY_MS = 15_000; // while the browser says it is offline; `online` cuts it short
const PING_EVERY_MS = 25_000;
const PONG_WAIT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
const RATE_LIMITED_RETRY_MS = 3_000;
const TYPING_EVERY_MS = 3_000;
const SESSION_CHECK_EVERY = 3; // failed attempts in a row before asking if we are signed out
// Numbered events of a thread (docs/protocol.md). Each one advances the thread's position,
// whether or not a page shows it, so that the numbers stay gap-free for the client too; so
// does any frame of a type this page does not know that carries `thread` and `seq`.
const THREAD_EVENTS = new Set(["message.new", "message.edited", "message.deleted", "document.added", "matter.status"]);
// Answers to a request (they echo its `ref`); "notifications" answers the frame of that name.
const REPLIES = new Set(["subscribed", "ok", "history", "pong", "error", "notifications"]);
// Frames of the protocol that are not thread events, though some carry `thread` and `seq`.
const NOT_EVENTS = new Set([...REPLIES, "hello", "unsubscribed", "message.ack", "read", "typing", "notification", "presence", "thread.removed"]);
const SUBSCRIBE_RETRY_MS = 2_000; // after a refused (rate-limited) subscribe, plus up to as much again

function isThreadEvent(frame) {
  if (THREAD_EVENTS.has(frame.type)) return true;
  return !NOT_EVENTS.has(frame.type) && typeof frame.thread === "string" && Number.isInteger(frame.seq);
}

/** How long to wait after an `overloaded` answer: the server's `retry_after` (seconds, at
 * least one), plus up to as much again at random. */
export function retryAfterMs(frame) {
  const seconds = Number.isFinite(frame.retry_after) ? Math.max(1, frame.retry_after) : 2;
  return seconds * 1000 * (1 + Math.random());
}

/** Delay before reconnect attempt `attempt` (0, 1, 2, …): exponential, capped, jittered
 * ("equal jitter": half fixed, half random), so a server restart is not met by a stampede. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** A random UUID (version 4), also outside secure contexts. */
export function newClientId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** ws(s)://host/ws/ for the page's own origin. */
export function socketUrl(location = window.location, path = "/ws/") {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

export class SocketError extends Error {
  constructor(code, message, frame = null) {
    super(message);
    this.code = code;
    this.frame = frame;
  }
}

/**
 * Statuses: "connecting" (before the first hello), "open", "reconnecting", "offline",
 * "signed_out" (the session ended; no more attempts) and "ended" (access ended, close 4403).
 *
 * Events (`on(type, handler)`): "status", "hello", "event" (a thread event, applied once, in
 * order), "skipped" ({thread, first_seq}: the server replayed only from first_seq on; what
 * came before is paged with `history`), "subscribed", "outbox" (an entry was added or
 * changed), "ack", "send-failed", "read", "typing", "thread.removed", "error", and any other
 * frame type the server sends.
 */
export class PortalSocket {
  constructor({ url = socketUrl(), storage = null, storageKey = "atrium.outbox", checkSession = null } = {}) {
    this.url = url;
    this.storage = storage;
    this.storageKey = storageKey;
    this.checkSession = checkSession; // async () => "ok" | "signed_out" | "unknown"
    this.ws = null;
    this.status = "idle";
    this.user = null;
    this.everOpened = false;
    this.attempt = 0;
    this.nextRef = 1;
    this.threads = new Map(); // thread id -> {lastSeq, mode, subscribed, resyncing, held, lastTyping}
    this.subscribeRefs = new Map(); // ref -> thread id
    this.outbox = new Map(); // client_id -> {client_id, thread, body, state, error, createdAt}
    this.requests = new Map(); // ref -> {resolve, reject, timer}
    this.handlers = new Map();
    this.reconnectTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.restoreOutbox();
  }

  // --- listeners --------------------------------------------------------------------------

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  emit(type, detail) {
    for (const handler of this.handlers.get(type) ?? []) {
      try {
        handler(detail);
      } catch (problem) {
        console.error(`atrium: a "${type}" handler failed`, problem);
      }
    }
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.emit("status", status);
  }

  // --- the connection ---------------------------------------------------------------------

  start() {
    window.addEventListener("online", () => this.reconnectNow());
    // Browsers keep a WebSocket "open" through a lost network until TCP gives up, which can
    // take minutes: when the browser knows it is offline, drop the socket ourselves.
    window.addEventListener("offline", () => this.dropConnection());
    document.addEventListener("visibilitychange", () => {
      // Back from a sleeping laptop or a background tab: check the socket at once.
      if (document.visibilityState === "visible") this.ping();
    });
    this.connect();
  }

  get isOpen() {
    return this.status === "open" && this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.ws !== null || this.status === "signed_out" || this.status === "ended") return;
    this.setStatus(this.everOpened ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (problem) {
      console.error("atrium: cannot open the socket", problem);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      if (this.ws === ws) this.receive(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws === ws) this.closed(event.code);
    });
  }

  /** Forget the current socket now (and close it), then reconnect as after any drop. */
  dropConnection() {
    const ws = this.ws;
    if (ws === null) return;
    this.closed(1006);
    try {
      ws.close();
    } catch {
      // Already closing.
    }
  }

  /** The network is back (or the user asked): try at once, from a fresh backoff. */
  reconnectNow() {
    if (this.ws !== null) {
      this.ping();
      return;
    }
    if (this.status === "signed_out" || this.status === "ended") return;
    this.attempt = 0;
    this.connect();
  }

  closed(code) {
    this.ws = null;
    this.stopPing();
    for (const thread of this.threads.values()) {
      thread.subscribed = false;
      thread.resyncing = false;
      thread.held = [];
    }
    this.subscribeRefs.clear();
    for (const [ref, request] of this.requests) {
      clearTimeout(request.timer);
      request.reject(new SocketError("disconnected", "The connection was lost."));
      this.requests.delete(ref);
    }
    if (this.status === "signed_out") return;
    if (code === 4403 || this.status === "ended") {
      this.setStatus("ended");
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    clearTimeout(this.reconnectTimer);
    const offline = navigator.onLine === false;
    let delay = backoffDelay(this.attempt);
    if (offline) delay = Math.max(delay, OFFLINE_RETRY_MS);
    this.attempt += 1;
    this.setStatus(offline ? "offline" : this.everOpened ? "reconnecting" : "connecting");
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    if (this.checkSession && !offline && this.attempt % SESSION_CHECK_EVERY === 0) {
      // A refused handshake looks like any other failure; the page itself tells us why.
      this.checkSession().then((answer) => {
        if (answer === "signed_out" && this.ws === null) {
          clearTimeout(this.reconnectTimer);
          this.setStatus("signed_out");
        }
      });
    }
  }

  rawSend(frame) {
    if (this.ws === null || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // --- keep-alive ---------------------------------------------------------------------------

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }

  ping() {
    if (!this.isOpen || this.pongTimer !== null) return;
    this.rawSend({ type: "ping" });
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      console.warn("atrium: no answer to ping; reconnecting");
      this.dropConnection();
    }, PONG_WAIT_MS);
  }

  // --- inbound frames -----------------------------------------------------------------------

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame === null || typeof frame !== "object" || typeof frame.type !== "string") return;
    // Any frame shows the connection is alive.
    clearTimeout(this.pongTimer);
    this.pongTimer = null;

    if (frame.type === "hello") {
      this.onHello(frame);
      return;
    }
    if (isThreadEvent(frame)) {
      this.onThreadEvent(frame);
      return;
    }
    if (frame.type === "message.ack") {
      this.onAck(frame);
      return;
    }
    if (frame.type === "subscribed") {
      this.subscribeRefs.delete(frame.ref);
      this.onSubscribed(frame);
      return;
    }
    if (frame.type === "error") {
      this.onError(frame);
      return;
    }
    if (frame.type === "thread.removed") {
      this.threads.delete(frame.thread);
    }
    if (REPLIES.has(frame.type) && frame.ref !== undefined && this.requests.has(frame.ref)) {
      const request = this.requests.get(frame.ref);
      this.requests.delete(frame.ref);
      clearTimeout(request.timer);
      request.resolve(frame);
    }
    this.emit(frame.type, frame);
  }

  onHello(frame) {
    if (frame.protocol !== PROTOCOL_VERSION) {
      console.warn(`atrium: server speaks protocol ${frame.protocol}, this page ${PROTOCOL_VERSION}`);
    }
    this.user = frame.user;
    this.attempt = 0;
    this.everOpened = true;
    // Listeners may track more threads here; the loop below subscribes to all of them.
    this.emit("hello", frame);
    const readable = new Map((frame.threads ?? []).map((t) => [t.id, t]));
    for (const [id, thread] of [...this.threads]) {
      const summary = readable.get(id);
      if (summary === undefined) {
        this.threads.delete(id);
        this.emit("thread.removed", { type: "thread.removed", thread: id });
        continue;
      }
      // A thread tracked only for its badge needs no replay: hello already counted it.
      if (thread.mode === "badge") thread.lastSeq = Math.max(thread.lastSeq, summary.last_seq);
      this.subscribe(id);
    }
    this.setStatus("open");
    this.flushOutbox();
    this.startPing();
  }

  onThreadEvent(frame) {
    const thread = this.threads.get(frame.thread);
    if (thread === undefined || !Number.isInteger(frame.seq)) return;
    if (frame.seq <= thread.lastSeq) return; // applied already (a replay overlapping live events)
    if (frame.seq > thread.lastSeq + 1) {
      // During a replay: the server may have started further on (its `subscribed` says so);
      // kept until then. Otherwise a gap should never happen; if it does, the server
      // replays from our position.
      if (thread.resyncing) thread.held.push(frame);
      else this.subscribe(frame.thread);
      return;
    }
    thread.lastSeq = frame.seq;
    this.emit("event", frame);
  }

  onSubscribed(frame) {
    const thread = this.threads.get(frame.thread);
    if (thread !== undefined) {
      thread.subscribed = true;
      thread.resyncing = false;
      const held = thread.held.sort((a, b) => a.seq - b.seq);
      thread.held = [];
      if (frame.truncated === true && Number.isInteger(frame.first_seq) && frame.first_seq - 1 > thread.lastSeq) {
        // A long way behind: the events before first_seq were not replayed.
        thread.lastSeq = frame.first_seq - 1;
        this.emit("skipped", { thread: frame.thread, first_seq: frame.first_seq });
      }
      for (const event of held) this.onThreadEvent(event);
    }
    this.emit("subscribed", frame);
  }

  onAck(frame) {
    const entry = this.outbox.get(frame.client_id);
    if (entry !== undefined) {
      this.outbox.delete(frame.client_id);
      this.saveOutbox();
    }
    this.emit("ack", { ...frame, entry });
  }

  onError(frame) {
    const ref = frame.ref;
    if (ref !== undefined && this.subscribeRefs.has(ref)) {
      const id = this.subscribeRefs.get(ref);
      this.subscribeRefs.delete(ref);
      if (frame.code === "not_found") {
        this.threads.delete(id);
        this.emit("thread.removed", { type: "thread.removed", thread: id });
      } else if (frame.code === "rate_limited" || frame.code === "overloaded") {
        // Many tabs reconnecting at once: try again a little later, each at its own moment.
        const ws = this.ws;
        const delay = frame.code === "overloaded" ? retryAfterMs(frame) : SUBSCRIBE_RETRY_MS * (1 + Math.random());
        setTimeout(() => {
          if (this.ws === ws && this.isOpen && this.threads.get(id)?.subscribed === false) this.subscribe(id);
        }, delay);
      }
      return;
    }
    if (ref !== undefined && this.requests.has(ref)) {
      const request = this.requests.get(ref);
      this.requests.delete(ref);
      clearTimeout(request.timer);
      request.reject(new SocketError(frame.code, frame.message, frame));
      return;
    }
    const entry = typeof ref === "string" ? this.outbox.get(ref) : undefined;
    if (entry !== undefined) {
      this.onSendError(entry, frame);
      return;
    }
    if (frame.code === "access_ended") this.setStatus("ended");
    // The session ended (signed out elsewhere, expired, a new password): the close that
    // follows is final, and the page offers to sign in again.
    if (frame.code === "signed_out") this.setStatus("signed_out");
    this.emit("error", frame);
  }

  // --- threads ------------------------------------------------------------------------------

  /** Follow a thread from `after`: "full" replays what was missed on every reconnect;
   * "badge" only wants live events (the next hello recounts what was missed). */
  track(id, { after = 0, mode = "full" } = {}) {
    if (this.threads.has(id)) return;
    this.threads.set(id, { lastSeq: after, mode, subscribed: false, resyncing: false, held: [], lastTyping: 0 });
    if (this.isOpen) this.subscribe(id);
  }

  untrack(id) {
    if (!this.threads.delete(id)) return;
    this.rawSend({ type: "unsubscribe", thread: id });
  }

  lastSeq(id) {
    return this.threads.get(id)?.lastSeq ?? 0;
  }

  isSubscribed(id) {
    return this.isOpen && this.threads.get(id)?.subscribed === true;
  }

  subscribe(id) {
    const thread = this.threads.get(id);
    if (thread === undefined) return;
    const ref = `s${this.nextRef++}`;
    thread.subscribed = false;
    thread.resyncing = true;
    thread.held = [];
    this.subscribeRefs.set(ref, id);
    this.rawSend({ type: "subscribe", thread: id, after: thread.lastSeq, ref });
  }

  // --- requests with an answer --------------------------------------------------------------

  request(frame, { timeout = REQUEST_TIMEOUT_MS } = {}) {
    if (!this.isOpen) {
      return Promise.reject(new SocketError("offline", "Not connected; try again in a moment."));
    }
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(ref);
        reject(new SocketError("timeout", "The server did not answer; try again."));
      }, timeout);
      this.requests.set(ref, { resolve, reject, timer });
      this.rawSend({ ...frame, ref });
    });
  }

  history(thread, { before = undefined, limit = 50 } = {}) {
    const frame = { type: "history", thread, limit };
    if (before !== undefined) frame.before = before;
    return this.request(frame);
  }

  markRead(thread, seq) {
    return this.request({ type: "read", thread, seq });
  }

  editMessage(id, body) {
    return this.request({ type: "message.edit", id, body });
  }

  deleteMessage(id) {
    return this.request({ type: "message.delete", id });
  }

  /** Tell the others we are typing; at most once every 3 seconds per thread. */
  typing(id) {
    const thread = this.threads.get(id);
    if (thread === undefined || !this.isSubscribed(id)) return;
    const now = Date.now();
    if (now - thread.lastTyping < TYPING_EVERY_MS) return;
    thread.lastTyping = now;
    this.rawSend({ type: "typing", thread: id });
  }

  // --- the outbox ---------------------------------------------------------------------------

  sendMessage(thread, body) {
    const entry = {
      client_id: newClientId(),
      thread,
      body,
      state: "sending",
      error: null,
      createdAt: new Date().toISOString(),
    };
    this.outbox.set(entry.client_id, entry);
    this.saveOutbox();
    this.transmit(entry);
    return entry;
  }

  transmit(entry) {
    if (!this.outbox.has(entry.client_id) || entry.state === "failed" || !this.isOpen) return;
    this.rawSend({ type: "message.send", thread: entry.thread, client_id: entry.client_id, body: entry.body });
  }

  /** Everything not yet acknowledged, again, with the same client ids, oldest first. */
  flushOutbox() {
    for (const entry of this.outbox.values()) this.transmit(entry);
  }

  onSendError(entry, frame) {
    if (frame.code === "rate_limited") {
      setTimeout(() => this.transmit(entry), RATE_LIMITED_RETRY_MS);
      return;
    }
    if (frame.code === "overloaded") {
      // The server is behind: the same client id again after its hint, each tab at its own
      // moment, so that retries spread out; the message is stored once whatever happens.
      setTimeout(() => this.transmit(entry), retryAfterMs(frame));
      return;
    }
    entry.state = "failed";
    entry.error = { code: frame.code, message: frame.message };
    this.saveOutbox();
    this.emit("send-failed", entry);
  }

  retry(clientId) {
    const entry = this.outbox.get(clientId);
    if (entry === undefined) return;
    entry.state = "sending";
    entry.error = null;
    this.saveOutbox();
    this.emit("outbox", entry);
    this.transmit(entry);
  }

  discard(clientId) {
    if (this.outbox.delete(clientId)) this.saveOutbox();
  }

  pending(thread) {
    return [...this.outbox.values()].filter((entry) => entry.thread === thread);
  }

  saveOutbox() {
    if (this.storage === null) return;
    try {
      if (this.outbox.size === 0) this.storage.removeItem(this.storageKey);
      else this.storage.setItem(this.storageKey, JSON.stringify([...this.outbox.values()]));
    } catch {
      // Storage full or refused: the outbox still lives in memory.
    }
  }

  restoreOutbox() {
    if (this.storage === null) return;
    try {
      const saved = JSON.parse(this.storage.getItem(this.storageKey) ?? "[]");
      for (const entry of saved) {
        if (entry && typeof entry.client_id === "string" && typeof entry.body === "string") {
          this.outbox.set(entry.client_id, { ...entry, state: entry.state === "failed" ? "failed" : "sending" });
        }
      }
    } catch {
      // Unreadable: start empty.
    }
  }
}
