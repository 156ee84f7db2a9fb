// A ticket's page, kept true while open: thread.js draws its conversation live; when an
// event of this ticket arrives (ticket.opened, ticket.updated, ticket.sla_warning: a status,
// assignee or priority changed, a reply moved its clock, a target is close), the ticket's
// panel is fetched again and swapped in (regions.js), except the change form while someone
// is using it. The status chip and assignee change at once from the event itself
// (support/js/timeline.js paints every [data-ticket-card] of the ticket).

import { socket } from "./portal.js";
import { formBusy, regionRefresher } from "./regions.js";

const root = document.querySelector("[data-ticket]");

/** A closed ticket's conversation takes no more messages (the server refuses them too). */
function closeComposer() {
  const form = document.querySelector("form.composer");
  const note = document.querySelector("[data-composer-closed]");
  if (form === null || note === null) return;
  form.hidden = true;
  for (const control of form.querySelectorAll("textarea, button")) control.disabled = true;
  note.hidden = false;
}

if (root !== null && socket !== null) {
  const ticket = root.dataset.ticket;
  const thread = root.dataset.thread;
  const refresh = regionRefresher({ busy: formBusy, url: root.dataset.url });
  socket.on("event", (frame) => {
    if (frame.thread !== thread || !frame.type.startsWith("ticket.") || frame.ticket?.id !== ticket) return;
    refresh();
    if (frame.ticket.status === "closed") closeComposer();
  });
  // Back from an outage: what changed meanwhile arrives as events, and the clock's words
  // ("due in 2 hours") are read again.
  let subscribed = false;
  socket.on("subscribed", (frame) => {
    if (frame.thread !== thread) return;
    if (subscribed) refresh();
    subscribed = true;
  });
}
