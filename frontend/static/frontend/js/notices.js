// Thread events that are not messages, as lines in a conversation: one renderer per event
// type (docs/protocol.md), the same table for the page's first events, history pages and
// live events. A renderer returns the <li> for one frame; text goes in as text only.

import { el } from "./portal.js";

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

function notice(frame, className, createdAt) {
  const item = el("li", { className: `msg notice-doc ${className}` });
  item.dataset.seq = String(frame.seq);
  item.dataset.created = createdAt ?? new Date().toISOString();
  item.dataset.author = ""; // a notice, never part of someone's run of messages
  item.id = `seq-${frame.seq}`;
  item.tabIndex = -1;
  return item;
}

function stamp(text, createdAt) {
  if (!createdAt) return;
  const at = new Date(createdAt);
  if (Number.isNaN(at.getTime())) return;
  text.append(" · ", el("time", { text: timeFormat.format(at), attrs: { datetime: createdAt, title: fullFormat.format(at) } }));
}

/** "Sam Staff added Statement of work · Download · 10:04" */
function documentAdded(frame) {
  const doc = frame.document ?? {};
  const version = frame.version ?? {};
  const item = notice(frame, "notice-document", version.created_at);
  const text = el("p", { className: "msg-doc" });
  const link = el("a", { text: doc.title ?? "a document", attrs: { href: `/vault/documents/${encodeURIComponent(doc.id ?? "")}/` } });
  text.append(
    el("span", { className: "msg-author", text: frame.by?.name ?? "Someone" }),
    frame.created ? " added " : ` added version ${version.number ?? ""} of `,
    link,
  );
  if (version.download_url) {
    text.append(" · ", el("a", { text: "Download", attrs: { href: version.download_url, download: version.filename ?? "" } }));
  }
  stamp(text, version.created_at);
  item.append(text);
  return item;
}

/** "Sam Staff set Website redesign to In progress (was Planned) · 10:04" */
function matterStatus(frame) {
  const matter = frame.matter ?? {};
  const item = notice(frame, "notice-status", frame.at);
  const text = el("p", { className: "msg-doc" });
  const link = el("a", { text: matter.title ?? "a matter", attrs: { href: `/matters/${encodeURIComponent(matter.id ?? "")}/` } });
  const status = el("span", { className: `status status-${frame.status?.value ?? ""}`, text: frame.status?.label ?? "" });
  text.append(el("span", { className: "msg-author", text: frame.by?.name ?? "Someone" }), " set ", link, " to ", status);
  if (frame.previous?.label) text.append(` (was ${frame.previous.label})`);
  stamp(text, frame.at);
  item.append(text);
  return item;
}

export const NOTICE_RENDERERS = {
  "document.added": documentAdded,
  "matter.status": matterStatus,
};
