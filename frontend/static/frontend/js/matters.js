// The account and matter pages, kept up to date while open: they follow the account's
// threads that matter events are posted to, and redraw what an event changes, by event type
// (the same names as the conversations' renderers in notices.js). A status change arrives as
// a `matter.status` thread event (docs/protocol.md); one missed while the connection was
// down is replayed when it comes back.

import { socket, startSocket } from "./portal.js";
import { statusChip } from "./ui.js";

const LIVE_THREADS = 50; // the newest of the account's threads, as the conversations follow

const root = document.querySelector("[data-live-matters]");

function byMatter(attribute, id) {
  return document.querySelectorAll(`[${attribute}="${CSS.escape(id)}"]`);
}

function showStatus(frame) {
  const id = frame.matter?.id;
  const status = frame.status;
  if (typeof id !== "string" || typeof status?.value !== "string") return;
  for (const node of byMatter("data-matter-status", id)) {
    node.dataset.status = status.value;
    node.replaceChildren(statusChip("matter", status.value, status.label ?? status.value));
  }
  for (const node of byMatter("data-matter-updated", id)) {
    node.textContent = `updated just now by ${frame.by?.name ?? "someone"}`;
  }
  // The form offers the status as it is now, unless someone is choosing one.
  const choice = root.querySelector("form select[name=status]");
  if (choice !== null && root.dataset.matter === id && document.activeElement !== choice) choice.value = status.value;
}

const PAGE_RENDERERS = { "matter.status": showStatus };

/** The threads a status change of this page's matter(s) is posted to, among those readable. */
function followed(threads) {
  const account = root.dataset.account;
  const mine = threads.filter((t) => t.account?.id === account);
  const matter = root.dataset.matter;
  if (!matter) return mine;
  const own = mine.filter((t) => t.matter?.id === matter);
  return own.length > 0 ? own : mine.filter((t) => t.general);
}

if (root !== null && socket !== null) {
  socket.on("hello", (hello) => {
    for (const thread of followed(hello.threads ?? []).slice(0, LIVE_THREADS)) {
      socket.track(thread.id, { after: thread.last_seq, mode: "full" });
    }
  });
  socket.on("event", (frame) => PAGE_RENDERERS[frame.type]?.(frame));
  startSocket();
}
