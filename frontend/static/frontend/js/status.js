// The status page (a client's home, and the staff preview of it), kept up to date while
// open: it follows the threads of the accounts it shows, where every change to a plan is
// posted (`task.*`, `milestone.*`, `matter.plan`: docs/protocol.md), and moves each
// matter's bar from the `matter` the event carries: the matter's progress after the
// change. One missed while the connection was down is replayed when it comes back.
//
// What an event does not carry (which milestone is next, whether the matter is behind) is
// read again from the page itself as the server draws it now, once for a burst of events.

import { el, socket, startSocket } from "./portal.js";
import { chip } from "./ui.js";

const LIVE_THREADS = 50; // the newest of the accounts' threads, as the conversations follow
const REDRAW_AFTER_MS = 400; // events that come together are redrawn together
// The parts of a matter's row redrawn from the page as the server draws it now.
const REDRAWN = ["[data-next-milestone]", "[data-matter-late]"];
const PLAN_EVENT = /^(task|milestone)\.[a-z_]+$|^matter\.plan$/;

const root = document.querySelector("[data-live-status]");
const announcer = root?.querySelector("[data-status-announcer]") ?? null;

function within(attribute, id) {
  return root.querySelectorAll(`[${attribute}="${CSS.escape(id)}"]`);
}

function isCount(value) {
  return Number.isInteger(value) && value >= 0;
}

function dateWords(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  const when = new Date(Date.UTC(year, month - 1, day));
  return new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(when);
}

/** "40 % · 4 of 10 tasks done", the same words as the server's. */
function progressText(node, progress, tasks) {
  const strong = el("strong", { text: `${progress} %` });
  const parts = [strong];
  if (tasks?.total === 0) parts.push(" · no task planned yet");
  else if (isCount(tasks?.total) && isCount(tasks?.done)) {
    parts.push(` · ${tasks.done} of ${tasks.total} task${tasks.total === 1 ? "" : "s"} done`);
  }
  node.replaceChildren(...parts);
}

function showNextMilestone(node, next) {
  if (next === null) {
    node.textContent = "No open milestone is left.";
    return;
  }
  if (typeof next?.title !== "string" || typeof next?.due !== "string") return;
  const due = el("time", { text: dateWords(next.due), attrs: { datetime: next.due } });
  const parts = ["Next milestone: ", el("strong", { text: next.title }), ", due ", due];
  if (next.overdue === true) parts.push(" ", chip("danger", "Overdue", "alert"));
  node.replaceChildren(...parts);
}

function showMatter(matter) {
  if (typeof matter?.id !== "string" || !isCount(matter.progress) || matter.progress > 100) return;
  for (const item of within("data-matter-progress", matter.id)) {
    const bar = item.querySelector("[data-progress-bar]");
    const before = bar === null ? null : Number(bar.value);
    if (bar !== null) {
      bar.value = matter.progress;
      bar.textContent = `${matter.progress} %`;
    }
    const text = item.querySelector("[data-progress-text]");
    if (text !== null) progressText(text, matter.progress, matter.tasks);
    const next = item.querySelector("[data-next-milestone]");
    if (next !== null && "next_milestone" in matter) showNextMilestone(next, matter.next_milestone);
    if (announcer !== null && before !== matter.progress) {
      announcer.textContent = `${matter.title ?? "A plan"} is now ${matter.progress} % done.`;
    }
  }
}

function showTask(task, done) {
  if (typeof task?.id !== "string") return;
  for (const row of within("data-task", task.id)) {
    row.classList.toggle("is-done", done);
    const mark = row.querySelector("[data-task-done]");
    if (mark !== null) mark.hidden = !done;
    const action = row.querySelector("[data-task-action]");
    if (action !== null) action.hidden = done;
  }
}

const stale = new Set(); // ids of matters whose next milestone may have changed
let redrawTimer = null;

async function redraw() {
  redrawTimer = null;
  const ids = [...stale];
  stale.clear();
  let response;
  try {
    response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  } catch {
    return; // offline: the next event, or a reload, brings it
  }
  if (!response.ok || !response.headers.get("content-type")?.startsWith("text/html")) return;
  const now = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ids) {
    const fresh = now.querySelector(`[data-matter-progress="${CSS.escape(id)}"]`);
    if (fresh === null) continue;
    for (const item of within("data-matter-progress", id)) {
      for (const part of REDRAWN) {
        const from = fresh.querySelector(part);
        const to = item.querySelector(part);
        if (from !== null && to !== null) to.replaceChildren(...[...from.childNodes].map((n) => document.importNode(n, true)));
      }
    }
  }
}

function redrawSoon(matterId) {
  if (typeof matterId !== "string" || within("data-matter-progress", matterId).length === 0) return;
  stale.add(matterId);
  if (redrawTimer === null) redrawTimer = setTimeout(redraw, REDRAW_AFTER_MS);
}

/** A task of the reader's that the page does not list (added, given to them, or opened
 * again): say so, rather than redraw a list someone may be working through. */
function noteNewWork(task) {
  if ("preview" in root.dataset || typeof task?.id !== "string" || task.done !== false) return;
  const theirs = task.assignee === "client" || (task.assignee?.id !== undefined && task.assignee.id === document.body.dataset.user);
  if (!theirs || within("data-task", task.id).length > 0) return;
  const note = root.querySelector("[data-waiting-new]");
  if (note === null || !note.hidden) return;
  note.hidden = false;
  if (announcer !== null) announcer.textContent = "Something new is waiting on you.";
}

function onPlanEvent(frame) {
  showMatter(frame.matter);
  if (!("next_milestone" in (frame.matter ?? {}))) redrawSoon(frame.matter?.id);
  if (frame.type === "task.done") showTask(frame.task, true);
  else if (frame.type === "task.reopened") showTask(frame.task, false);
  else if (frame.type === "task.changed" && typeof frame.task?.done === "boolean") showTask(frame.task, frame.task.done);
  if (frame.type.startsWith("task.")) noteNewWork(frame.task);
}

/** The threads a change to this page's plans is posted to: those of its accounts. */
function followed(threads) {
  const accounts = new Set((root.dataset.accounts ?? "").split(" ").filter(Boolean));
  return threads.filter((t) => accounts.has(t.account?.id));
}

if (root !== null && socket !== null) {
  socket.on("hello", (hello) => {
    for (const thread of followed(hello.threads ?? []).slice(0, LIVE_THREADS)) {
      socket.track(thread.id, { after: thread.last_seq, mode: "full" });
    }
    // From here on nothing is missed: what happens before the subscriptions are confirmed
    // is replayed from these positions.
    root.dataset.live = "true";
  });
  socket.on("event", (frame) => {
    if (typeof frame.type === "string" && PLAN_EVENT.test(frame.type)) onPlanEvent(frame);
  });
  startSocket();
}
