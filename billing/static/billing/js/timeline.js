// How invoices and proposals look in a conversation (declared in billing/events.py; the table
// that uses this is frontend/js/notices.js). Each event is one line: what happened (the
// server's `summary`, e.g. "Dana sent invoice INV-2026-00012"), a link to the document, and
// its amount and state after the event ("1,200.00 EUR · balance 200.00"). Imports nothing:
// the portal hands the kit (el, notice, stamp, chip).

const STATE_CHIPS = {
  overdue: ["danger", "Overdue"],
  paid: ["ok", "Paid"],
  partially_paid: ["info", "Partly paid"],
  void: ["neutral", "Void"],
  accepted: ["ok", "Accepted"],
  declined: ["danger", "Declined"],
  expired: ["neutral", "Expired"],
  withdrawn: ["neutral", "Withdrawn"],
};

function amountText(card) {
  if (typeof card.total !== "string" || typeof card.currency !== "string") return "";
  const total = `${card.total} ${card.currency}`;
  if (typeof card.balance === "string" && card.balance !== card.total) {
    return `${total} · balance ${card.balance}`;
  }
  return total;
}

/** "Dana sent invoice INV-2026-00012 · INV-2026-00012 · 1,200.00 EUR · 10:04" */
function billingLine(frame, { el, notice, stamp, chip }) {
  const card = frame.invoice ?? frame.proposal ?? {};
  const kind = frame.type.startsWith("proposal.") ? "proposal" : "invoice";
  const item = notice(frame, `notice-billing notice-${kind}`, frame.at);
  if (typeof card.id === "string") item.dataset[kind] = card.id;
  const text = el("p", { className: "msg-doc" });
  text.append(frame.summary ?? "A billing document changed", " · ");
  const label = card.number ?? card.title ?? (kind === "proposal" ? "the proposal" : "the invoice");
  const href = typeof card.url === "string" && card.url.startsWith("/") ? card.url : null;
  text.append(href ? el("a", { text: label, attrs: { href } }) : label);
  const amount = amountText(card);
  if (amount) text.append(" ", el("span", { className: "billing-amount", text: amount }));
  const state = STATE_CHIPS[card.status];
  if (state) text.append(" ", chip(state[0], state[1]));
  stamp(text, frame.at);
  item.append(text);
  return item;
}

export const renderers = Object.fromEntries(
  [
    "invoice.sent",
    "invoice.viewed",
    "invoice.payment",
    "invoice.credited",
    "invoice.voided",
    "invoice.reminded",
    "proposal.sent",
    "proposal.viewed",
    "proposal.accepted",
    "proposal.declined",
    "proposal.withdrawn",
  ].map((type) => [type, billingLine]),
);
