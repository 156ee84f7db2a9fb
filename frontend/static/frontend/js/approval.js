// An approval request's page, kept true while open: it follows the request's thread, and
// when an event of this request arrives (a decision, a new round, a closing) it fetches the
// page again and swaps in the parts that changed (the [data-region] blocks), except a form
// someone is filling in. Also shows who else has the page open (viewers.js).

import { socket, startSocket } from "./portal.js";
import { watchViewers } from "./viewers.js";

const root = document.querySelector("[data-approval]");

/** A region holding a form that has focus or typed input is left as it is. */
function busy(region) {
  if (region.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) return true;
  for (const field of region.querySelectorAll("textarea, input[type=text], input:not([type])")) {
    if (field.value !== field.defaultValue) return true;
  }
  for (const choice of region.querySelectorAll("input[type=radio], input[type=checkbox]")) {
    if (choice.checked !== choice.defaultChecked) return true;
  }
  return false;
}

let refreshing = null;
let again = false;

async function refresh() {
  if (refreshing !== null) {
    again = true; // one more after this one: the newest state wins
    return;
  }
  refreshing = (async () => {
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store", redirect: "manual" });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const region of document.querySelectorAll("[data-region]")) {
        const replacement = fresh.querySelector(`[data-region="${CSS.escape(region.dataset.region)}"]`);
        if (replacement === null || busy(region)) continue;
        region.replaceWith(document.importNode(replacement, true));
      }
    } catch (problem) {
      console.warn("The request could not be brought up to date:", problem);
    } finally {
      refreshing = null;
      if (again) {
        again = false;
        refresh();
      }
    }
  })();
}

if (root !== null && socket !== null) {
  const approval = root.dataset.approval;
  const thread = root.dataset.thread;
  socket.on("hello", () => socket.track(thread, { after: Number(root.dataset.threadSeq) || 0, mode: "full" }));
  socket.on("event", (frame) => {
    if (frame.thread === thread && frame.type.startsWith("approval.") && frame.approval?.id === approval) refresh();
  });
  watchViewers({
    thread,
    page: approval,
    list: root.querySelector("[data-viewers]"),
    summary: root.querySelector("[data-viewers-summary]"),
    me: document.body.dataset.user ?? null,
  });
  startSocket();
}
