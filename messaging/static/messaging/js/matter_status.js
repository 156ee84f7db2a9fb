// How a matter's status change looks in a conversation (declared in messaging/matter_status.py;
// the table that uses this is frontend/js/notices.js).

/** "Sam Staff set Website redesign to In progress (was Planned) · 10:04" */
function matterStatus(frame, { el, notice, stamp, statusChip }) {
  const matter = frame.matter ?? {};
  const item = notice(frame, "notice-status", frame.at);
  const text = el("p", { className: "msg-doc" });
  const link = el("a", { text: matter.title ?? "a matter", attrs: { href: `/matters/${encodeURIComponent(matter.id ?? "")}/` } });
  const status = statusChip("matter", frame.status?.value ?? "", frame.status?.label ?? "");
  text.append(el("span", { className: "msg-author", text: frame.by?.name ?? "Someone" }), " set ", link, " to ", status);
  if (frame.previous?.label) text.append(` (was ${frame.previous.label})`);
  stamp(text, frame.at);
  item.append(text);
  return item;
}

export const renderers = {
  "matter.status": matterStatus,
};
