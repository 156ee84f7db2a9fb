// How signature requests look in a conversation (declared in approvals/signature_events.py;
// the table that uses this is frontend/js/notices.js). A request is a card; each later event
// of it is a line ("Alex Acme signed Master services agreement") and brings the request's
// newest summary (`signature`), which every card of that request on the page takes at once:
// its status, how many have signed, whose turn it is. Imports nothing: the portal hands the
// kit (el, notice, stamp, chip).

const STATUS = {
  open: ["info", "Waiting for signatures", "clock"],
  completed: ["ok", "Signed by everyone", "check"],
  declined: ["danger", "Declined", "x"],
  voided: ["neutral", "Voided", "x"],
};

// The newest summary seen of each request, by the seq that brought it: a card drawn late
// (an earlier page loaded afterwards) still shows the request as it is now.
const newest = new Map();

function remember(frame) {
  const summary = frame.signature;
  if (summary === null || typeof summary !== "object" || typeof summary.id !== "string") return null;
  const known = newest.get(summary.id);
  if (known === undefined || known.seq < frame.seq) newest.set(summary.id, { seq: frame.seq, summary });
  return newest.get(summary.id).summary;
}

function signers(summary) {
  return Array.isArray(summary.signers) ? summary.signers : [];
}

function nameOf(person) {
  return person?.user?.name || person?.user?.email || "someone";
}

function listed(names) {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** "Alex Acme and Sam Staff": whose turn it is. */
function turnNames(summary) {
  const turn = new Set(Array.isArray(summary.turn) ? summary.turn : []);
  return listed(signers(summary).filter((s) => turn.has(s.user?.id)).map(nameOf));
}

function countsText(summary) {
  const counts = summary.counts ?? {};
  const total = counts.signers ?? 0;
  let text = `${counts.signed ?? 0} of ${total} signed`;
  if (counts.approvers) text += `, ${counts.approved ?? 0} of ${counts.approvers} approved`;
  return text;
}

function nextText(summary) {
  if (summary.status !== "open") return "";
  const names = turnNames(summary);
  return names ? `Waiting for ${names}` : "";
}

/** Put `summary` into one card: status, counts, whose turn, overdue. */
function paint(card, summary, { chip }) {
  const status = card.querySelector("[data-card-status]");
  if (status !== null) {
    const [tone, words, icon] = STATUS[summary.status] ?? ["neutral", summary.status ?? "", "info"];
    status.dataset.cardStatus = summary.status;
    status.replaceChildren(chip(tone, words, icon));
  }
  const counts = card.querySelector("[data-card-counts]");
  if (counts !== null) counts.textContent = countsText(summary);
  const next = card.querySelector("[data-card-next]");
  if (next !== null) {
    next.textContent = nextText(summary);
    next.hidden = next.textContent === "";
  }
  const overdue = card.querySelector("[data-card-overdue]");
  if (overdue !== null) overdue.hidden = summary.overdue !== true || summary.status !== "open";
  card.dataset.signatureStatus = summary.status;
}

/** Every card of this request already on the page takes the newest summary. */
function refreshCards(summary, kit) {
  for (const card of document.querySelectorAll(`[data-signature-card="${CSS.escape(summary.id)}"]`)) paint(card, summary, kit);
}

function byName(frame) {
  return frame.by?.name ?? null;
}

function titleLink(el, summary) {
  return el("a", { text: summary.title ?? "a document", attrs: { href: summary.url ?? "#" } });
}

/** The card: who asked, the document (a link to the request), status, progress, next. */
function requested(frame, kit) {
  const { el, notice, stamp, chip } = kit;
  const summary = remember(frame);
  if (summary === null) return null;
  const item = notice(frame, "notice-signature", frame.at);
  const card = el("div", { className: "approval-card signature-card" });
  card.dataset.signatureCard = summary.id;
  const head = el("p", { className: "msg-doc" });
  head.append(el("span", { className: "msg-author", text: byName(frame) ?? "Someone" }), " asked for signatures on ", titleLink(el, summary));
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
  const next = el("p", { className: "muted", attrs: { "data-card-next": "" } });
  card.append(head, state, next);
  const document_ = summary.document;
  if (document_ && typeof document_ === "object") {
    const file = el("p", { className: "approval-card-files" });
    file.append(
      `${document_.filename ?? document_.title ?? "Document"} `,
      el("code", { className: "sha", text: `${String(document_.sha256 ?? "").slice(0, 12)}…`, attrs: { title: `SHA-256: ${document_.sha256 ?? ""}` } }),
    );
    card.append(file);
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
function line(frame, kit, words, { withCounts = true } = {}) {
  const summary = remember(frame);
  if (summary === null) return null;
  const { el, notice, stamp } = kit;
  const item = notice(frame, "notice-signature", frame.at);
  const text = el("p", { className: "msg-doc" });
  const parts = words(titleLink(el, summary), summary);
  if (parts === null) return null;
  text.append(...parts);
  if (frame.reason) text.append(": ", el("q", { text: frame.reason }));
  if (withCounts) text.append(` (${countsText(summary)})`);
  stamp(text, frame.at);
  item.append(text);
  refreshCards(summary, kit);
  return item;
}

/** "Alex Acme <verb> <link><after>", or "Someone <verb> <link><after>". */
function actor(frame, kit, verb, after = "") {
  return (link) => [kit.el("span", { className: "msg-author", text: byName(frame) ?? "Someone" }), ` ${verb} `, link, after];
}

export const renderers = {
  "signature.requested": requested,
  "signature.viewed": (frame, kit) => line(frame, kit, actor(frame, kit, "opened"), { withCounts: false }),
  "signature.consented": (frame, kit) =>
    line(frame, kit, actor(frame, kit, "consented to sign electronically"), { withCounts: false }),
  "signature.approved": (frame, kit) => line(frame, kit, actor(frame, kit, "approved", " for signing")),
  "signature.signed": (frame, kit) => line(frame, kit, actor(frame, kit, "signed")),
  "signature.turn": (frame, kit) =>
    line(frame, kit, (link, summary) => {
      const names = turnNames(summary);
      return [names ? `Now for ${names} to sign: ` : "Next to sign: ", link];
    }),
  "signature.reminded": (frame, kit) => line(frame, kit, (link) => ["Reminder: ", link, " is due tomorrow"]),
  "signature.declined": (frame, kit) => line(frame, kit, actor(frame, kit, "declined to sign")),
  "signature.voided": (frame, kit) => line(frame, kit, actor(frame, kit, "voided")),
  "signature.completed": (frame, kit) => line(frame, kit, (link) => [link, " is signed by everyone"]),
  "signature.sealed": (frame, kit) =>
    line(
      frame,
      kit,
      (link, summary) =>
        summary.signed
          ? ["The signed PDF and the certificate of completion of ", link, " are ready"]
          : ["The certificate of completion of ", link, " is ready"],
      { withCounts: false },
    ),
};
