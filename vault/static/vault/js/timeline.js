// How the vault's thread events look in a conversation (declared in vault/timeline.py; the
// table that uses this is frontend/js/notices.js).

/** "Sam Staff added Statement of work · Download · 10:04" */
function documentAdded(frame, { el, notice, stamp }) {
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

export const renderers = {
  "document.added": documentAdded,
};
