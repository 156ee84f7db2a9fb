// "Viewing now": who else has this page open, for pages about something in a thread (an
// approval request). The page's socket follows the thread and says it shows the page; the
// others' sockets say the same (docs/protocol.md, "Viewing"). Nothing is stored anywhere: a
// line is renewed every 30 seconds and forgotten after 75 without news.

import { el, socket } from "./portal.js";
import { avatar } from "./ui.js";

const RENEW_MS = 30_000;
const EXPIRE_MS = 75_000;
const SERVER_INTERVAL_MS = 1_100; // the server passes on one "here" per second and socket

/** Keep `list` (a <ul>) showing the people viewing `page` of `thread`, besides `me`. */
export function watchViewers({ thread, page, list, summary, me }) {
  const lines = new Map(); // socket token -> {user, seen}
  let lastSent = 0;
  let answerTimer = null;

  function render() {
    const people = new Map();
    for (const { user } of lines.values()) if (user?.id && user.id !== me) people.set(user.id, user);
    list.replaceChildren(
      ...[...people.values()]
        .sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""))
        .map((user) => {
          const item = el("li", { className: "person" });
          item.append(
            avatar(user, "sm"),
            el("span", { className: "person-name", text: user.name ?? "Someone" }),
          );
          return item;
        }),
    );
    const names = [...people.values()].map((user) => user.name ?? "Someone");
    summary.textContent = names.length === 0 ? "Nobody else has this page open." : `Also viewing now: ${names.join(", ")}.`;
  }

  function here(hello) {
    if (!socket.isSubscribed(thread)) return;
    lastSent = Date.now();
    socket.rawSend({ type: "viewing", thread, page, hello });
  }

  /** Answer a newcomer, after the server's one-per-second window if one was just sent. */
  function answer() {
    if (answerTimer !== null) return;
    const wait = Math.max(0, lastSent + SERVER_INTERVAL_MS - Date.now());
    answerTimer = setTimeout(() => {
      answerTimer = null;
      here(false);
    }, wait);
  }

  socket.on("subscribed", (frame) => {
    if (frame.thread !== thread) return;
    lines.clear(); // whoever is still here answers the hello
    render();
    here(true);
  });
  socket.on("viewing", (frame) => {
    if (frame.thread !== thread || frame.page !== page || typeof frame.socket !== "string") return;
    if (frame.state === "left") lines.delete(frame.socket);
    else {
      lines.set(frame.socket, { user: frame.user, seen: Date.now() });
      if (frame.hello === true) answer();
    }
    render();
  });
  socket.on("status", (status) => {
    if (status !== "open") {
      lines.clear(); // unknown while disconnected; the next subscribe asks again
      render();
    }
  });
  setInterval(() => {
    here(false);
    const now = Date.now();
    for (const [token, line] of lines) if (now - line.seen > EXPIRE_MS) lines.delete(token);
    render();
  }, RENEW_MS);
  window.addEventListener("pagehide", () => {
    if (socket.isSubscribed(thread)) socket.rawSend({ type: "viewing", thread, page, state: "left" });
  });
  render();
}
