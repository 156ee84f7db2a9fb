// How changes to a matter's plan look in a conversation (declared in projects/events.py; the
// table that uses this is frontend/js/notices.js). Each event is one line: what changed, then
// the matter and its progress after the change ("Dana ticked “Send the logo files” ·
// Website relaunch 40 %"). The sentence comes from the server (`summary`), the same words the
// status page and the digest show; the line adds the matter's link and progress. Imports
// nothing: the portal hands the kit (el, notice, stamp, chip).

const CLASS_NAMES = {
  "task.added": "notice-task",
  "task.changed": "notice-task",
  "task.done": "notice-task notice-task-done",
  "task.reopened": "notice-task",
  "milestone.added": "notice-milestone",
  "milestone.changed": "notice-milestone",
  "matter.plan": "notice-plan",
};

function progressText(matter) {
  const progress = Number.isInteger(matter.progress) ? matter.progress : 0;
  return `${progress} %`;
}

/** "Dana ticked “Send the logo files” · Website relaunch 40 % · 10:04" */
function planLine(frame, { el, notice, stamp, chip }) {
  const matter = frame.matter ?? {};
  const item = notice(frame, CLASS_NAMES[frame.type] ?? "notice-plan", frame.at);
  if (typeof matter.id === "string") item.dataset.matter = matter.id;
  const text = el("p", { className: "msg-doc" });
  text.append(frame.summary ?? "The plan changed", " · ");
  text.append(el("a", { text: matter.title ?? "a matter", attrs: { href: `/matters/${encodeURIComponent(matter.id ?? "")}/` } }));
  text.append(" ", el("span", { className: "plan-progress", text: progressText(matter) }));
  if (frame.task?.overdue === true || frame.milestone?.overdue === true) text.append(" ", chip("danger", "Overdue"));
  stamp(text, frame.at);
  item.append(text);
  return item;
}

export const renderers = {
  "task.added": planLine,
  "task.changed": planLine,
  "task.done": planLine,
  "task.reopened": planLine,
  "milestone.added": planLine,
  "milestone.changed": planLine,
  "matter.plan": planLine,
};
