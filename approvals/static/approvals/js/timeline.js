// How approval requests look in a conversation (declared in approvals/events.py; the table
// that uses this is frontend/js/notices.js). A request is a card; each later event of it is a
// line ("Alex Acme approved Homepage design") and brings the request's newest summary, which
// every card of that request on the page takes at once. Imports nothing: the portal hands
// the kit (el, notice, stamp).

const STATUS_WORDS = {
  open: "Waiting for decisions",
  approved: "Approved",
  changes_requested: "Changes requested",
  rejected: "Rejected",
  withdrawn: "Withdrawn",
  expired: "Expired",
};
const VERDICT_WORDS = { approve: "approved", changes_requested: "asked for changes to", reject: "rejected" };
const CLOSED_WORDS = {
  approved: "was approved",
  changes_requested: "was sent back for changes",
  rejected: "was rejected",
  withdrawn: "was withdrawn",
  expired: "expired without a decision",
};

// The newest summary seen of each request, by the seq that brought it: a card drawn late
// (an earlier page loaded afterwards) still shows the request as it is now.
const newest = new Map();

function remember(frame) {
  const summary = frame.approval;
  if (summary === null || typeof summary !== "object" || typeof summary.id !== "string") return null;
  const known = newest.get(summary.id);
  if (known === undefined || known.seq < frame.seq) newest.set(summary.id, { seq: frame.seq, summary });
  return newest.get(summary.id).summary;
}

function countsText(summary) {
  const counts = summary.counts ?? {};
  const required = counts.required ?? 0;
  return `${counts.approved ?? 0} of ${required} approval${required === 1 ? "" : "s"}`;
}

/** Put `summary` into one card's status, counts and due line. */
function paint(card, summary, { statusChip }) {
  const status = card.querySelector("[data-card-status]");
  if (status !== null) {
    status.dataset.cardStatus = summary.status;
    status.replaceChildren(statusChip("approval", summary.status, STATUS_WORDS[summary.status] ?? summary.status));
  }
  const counts = card.querySelector("[data-card-counts]");
  if (counts !== null) counts.textContent = countsText(summary);
  const overdue = card.querySelector("[data-card-overdue]");
  if (overdue !== null) overdue.hidden = summary.overdue !== true;
  card.dataset.approvalStatus = summary.status;
}

/** Every card of this request already on the page takes the newest summary. */
function refreshCards(summary, kit) {
  for (const card of document.querySelectorAll(`[data-approval-card="${CSS.escape(summary.id)}"]`)) paint(card, summary, kit);
}

function personName(frame) {
  return frame.by?.name ?? null;
}

/** The card: title (a link to the request), status, counts, the files, and a way to act. */
function requested(frame, kit) {
  const { el, notice, stamp, chip } = kit;
  const summary = remember(frame);
  if (summary === null) return null;
  const item = notice(frame, "notice-approval", frame.at);
  const card = el("div", { className: "approval-card" });
  card.dataset.approvalCard = summary.id;
  const head = el("p", { className: "msg-doc" });
  head.append(
    el("span", { className: "msg-author", text: personName(frame) ?? "Someone" }),
    " asked for approval of ",
    el("a", { text: summary.title ?? "a request", attrs: { href: summary.url ?? "#" } }),
  );
  stamp(head, frame.at);
  const state = el("p", { className: "approval-card-state" });
  const overdue = el("span", { attrs: { "data-card-overdue": "" } });
  overdue.append(chip("danger", "Overdue"));
  state.append(
    el("span", { attrs: { "data-card-status": "" } }),
    " ",
    el("span", { attrs: { "data-card-counts": "" } }),
    summary.due ? ` · due ${summary.due}` : "",
    " ",
    overdue,
  );
  card.append(head, state);
  const versions = Array.isArray(frame.versions) ? frame.versions : [];
  if (versions.length > 0) {
    const files = el("ul", { className: "approval-card-files" });
    for (const version of versions) {
      const line = el("li");
      line.append(
        `${version.title ?? "Document"} v${version.number ?? "?"} `,
        el("code", { className: "sha", text: `${String(version.sha256 ?? "").slice(0, 12)}…`, attrs: { title: `SHA-256: ${version.sha256 ?? ""}` } }),
      );
      files.append(line);
    }
    card.append(files);
  }
  const act = el("p");
  act.append(el("a", { className: "button button--small", text: "Open the request", attrs: { href: summary.url ?? "#" } }));
  card.append(act);
  paint(card, summary, kit);
  item.append(card);
  refreshCards(summary, kit);
  return item;
}

/** One line about a later event of a request; every card of it is brought up to date. */
function line(frame, kit, words) {
  const summary = remember(frame);
  if (summary === null) return null;
  const { el, notice, stamp } = kit;
  const item = notice(frame, "notice-approval", frame.decision?.decided_at ?? frame.at);
  const text = el("p", { className: "msg-doc" });
  const link = el("a", { text: summary.title ?? "a request", attrs: { href: summary.url ?? "#" } });
  const who = personName(frame);
  if (who !== null) text.append(el("span", { className: "msg-author", text: who }), " ");
  text.append(...words(link));
  if (frame.decision?.comment) text.append(": ", el("q", { text: frame.decision.comment }));
  text.append(` (${countsText(summary)})`);
  stamp(text, frame.decision?.decided_at ?? frame.at);
  item.append(text);
  refreshCards(summary, kit);
  return item;
}

export const renderers = {
  "approval.requested": requested,
  "approval.decided": (frame, kit) =>
    line(frame, kit, (link) => [VERDICT_WORDS[frame.decision?.verdict] ?? "decided on", " ", link]),
  "approval.reopened": (frame, kit) =>
    line(frame, kit, (link) => ["A new version reopened ", link, ` for round ${frame.approval?.round ?? ""}`]),
  "approval.reminded": (frame, kit) => line(frame, kit, (link) => ["Reminder: ", link, " is due tomorrow"]),
  "approval.closed": (frame, kit) =>
    line(frame, kit, (link) => [link, " ", CLOSED_WORDS[frame.status] ?? "was closed", frame.reason ? ` (${frame.reason})` : ""]),
};
