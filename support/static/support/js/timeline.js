// How tickets look in their own conversation (declared in support/events.py; the table that
// uses this is frontend/js/notices.js). The opening is a small card (subject, status,
// assignee); each later event is a line, and every event brings the ticket's newest summary,
// which every card and header of that ticket on the page takes at once. Imports nothing: the
// portal hands the kit (el, notice, stamp, chip).

const TONES = {
  open: "info",
  waiting_on_client: "neutral",
  waiting_on_firm: "warn",
  resolved: "ok",
  closed: "neutral",
};
const TARGET_WORDS = { first_response: "first response", resolution: "resolution" };

// The newest summary seen of each ticket, by the seq that brought it.
const newest = new Map();

function remember(frame) {
  const ticket = frame.ticket;
  if (ticket === null || typeof ticket !== "object" || typeof ticket.id !== "string") return null;
  const known = newest.get(ticket.id);
  if (known === undefined || known.seq < frame.seq) newest.set(ticket.id, { seq: frame.seq, ticket });
  return newest.get(ticket.id).ticket;
}

/** "Assigned to Sam" on a card; the name alone where a label already says so
 * (`data-ticket-assignee="name"`, the ticket page's panel). */
function assigneeText(ticket, nameOnly = false) {
  if (!ticket.assignee?.name) return "Unassigned";
  return nameOnly ? ticket.assignee.name : `Assigned to ${ticket.assignee.name}`;
}

/** Put `ticket` into one card or header: its status chip, assignee and breach chip. */
function paint(node, ticket, { chip }) {
  const status = node.querySelector("[data-ticket-status]");
  if (status !== null) {
    status.dataset.ticketStatus = ticket.status;
    status.replaceChildren(chip(TONES[ticket.status] ?? "neutral", ticket.status_label ?? ticket.status));
  }
  const assignee = node.querySelector("[data-ticket-assignee]");
  if (assignee !== null) assignee.textContent = assigneeText(ticket, assignee.dataset.ticketAssignee === "name");
  const breached = node.querySelector("[data-ticket-breached]");
  if (breached !== null) {
    const sla = ticket.sla ?? {};
    breached.hidden = !(sla.first_response?.breached || sla.resolution?.breached);
  }
}

function refresh(ticket, kit) {
  for (const node of document.querySelectorAll(`[data-ticket-card="${CSS.escape(ticket.id)}"]`)) paint(node, ticket, kit);
}

function opened(frame, kit) {
  const { el, notice, stamp, chip } = kit;
  const ticket = remember(frame);
  if (ticket === null) return null;
  const item = notice(frame, "notice-ticket", frame.at);
  const card = el("div", { className: "ticket-card" });
  card.dataset.ticketCard = ticket.id;
  const head = el("p", { className: "msg-doc" });
  head.append(
    el("span", { className: "msg-author", text: frame.by?.name ?? "Someone" }),
    " opened ",
    el("a", { text: ticket.subject ?? "a ticket", attrs: { href: ticket.url ?? "#" } }),
  );
  stamp(head, frame.at);
  const state = el("p", { className: "ticket-card-state" });
  const breached = el("span", { attrs: { "data-ticket-breached": "" } });
  breached.append(chip("danger", "Target missed"));
  state.append(
    el("span", { attrs: { "data-ticket-status": "" } }),
    " ",
    el("span", { attrs: { "data-ticket-assignee": "" } }),
    ` · ${ticket.category?.name ?? ""} · ${ticket.priority ?? ""} priority `,
    breached,
  );
  card.append(head, state);
  paint(card, ticket, kit);
  item.append(card);
  refresh(ticket, kit);
  return item;
}

function changeWords(changes) {
  const words = [];
  if (changes?.status) words.push(`status to ${String(changes.status.to ?? "").replaceAll("_", " ")}`);
  if (changes?.assignee) words.push(changes.assignee.to ? `assignee to ${changes.assignee.to.name}` : "the ticket to unassigned");
  if (changes?.priority) words.push(`priority to ${changes.priority.to}`);
  return words;
}

function updated(frame, kit) {
  const ticket = remember(frame);
  if (ticket === null) return null;
  const { el, notice, stamp } = kit;
  const words = changeWords(frame.changes);
  const item = notice(frame, "notice-ticket", frame.at);
  const text = el("p", { className: "msg-doc" });
  if (frame.by?.name) text.append(el("span", { className: "msg-author", text: frame.by.name }), " ");
  text.append(words.length > 0 ? `set the ${words.join(", ")}` : "updated the ticket");
  if (frame.changes?.first_response_at && words.length === 0) text.replaceChildren("First response recorded");
  stamp(text, frame.at);
  item.append(text);
  refresh(ticket, kit);
  return item;
}

function warned(frame, kit) {
  const ticket = remember(frame);
  if (ticket === null) return null;
  const { el, notice, stamp } = kit;
  const item = notice(frame, "notice-ticket", frame.at);
  const text = el("p", { className: "msg-doc" });
  const parts = (Array.isArray(frame.targets) ? frame.targets : []).map(
    (t) => `${TARGET_WORDS[t.target] ?? t.target} ${t.breached ? "target missed" : "due soon"}`,
  );
  text.append(parts.length > 0 ? parts.join(", ") : "A target is due soon");
  stamp(text, frame.at);
  item.append(text);
  refresh(ticket, kit);
  return item;
}

export const renderers = {
  "ticket.opened": opened,
  "ticket.updated": updated,
  "ticket.sla_warning": warned,
};
