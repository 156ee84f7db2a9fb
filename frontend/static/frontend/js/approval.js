// An approval request's page, kept true while open: it follows the request's thread, and
// when an event of this request arrives (a decision, a new round, a closing) it fetches the
// page again and swaps in the parts that changed (the [data-region] blocks), except a form
// someone is filling in. Also shows who else has the page open (viewers.js).

import { socket, startSocket } from "./portal.js";
import { regionRefresher } from "./regions.js";
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

const refresh = regionRefresher({ busy });

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
