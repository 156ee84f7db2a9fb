// A matter page's plan, kept up to date while open. Plan events (`task.*`, `milestone.*`,
// `matter.plan`, docs/protocol.md) arrive on the threads matters.js follows; for this page's
// matter the progress bar and the ticked task change at once from the frame, then the
// timeline, the task list and the plan's facts are drawn again by the server (the page itself,
// fetched and swapped region by region), so dates, order and new rows are exactly as a reload
// would show them. A region someone is working in (focus inside it) waits until they leave it.

import "./matters.js";
import { socket } from "./portal.js";
import { chip } from "./ui.js";

const PLAN_EVENTS = new Set([
  "task.added",
  "task.changed",
  "task.done",
  "task.reopened",
  "milestone.added",
  "milestone.changed",
  "matter.plan",
]);
const REDRAW_DELAY_MS = 250;

const root = document.querySelector("[data-live-matters][data-matter]");

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** The bar and its sentence, from the matter's progress the frame carries. */
function showProgress(matter) {
  const bar = document.querySelector("[data-plan-progress]");
  const text = document.querySelector("[data-plan-progress-text]");
  if (bar === null || !Number.isInteger(matter?.progress)) return;
  bar.value = matter.progress;
  const tasks = matter.tasks ?? {};
  if (text === null || !Number.isInteger(tasks.total)) return;
  const strong = document.createElement("strong");
  strong.textContent = `${matter.progress} %`;
  const parts = [strong, ` done: ${tasks.done} of ${plural(tasks.total, "task")}`];
  if (tasks.overdue > 0) {
    const late = document.createElement("span");
    late.className = "plan-overdue";
    late.textContent = `${tasks.overdue} overdue`;
    parts.push(", ", late);
  }
  parts.push(".");
  text.replaceChildren(...parts);
}

/** A ticked (or reopened) task's row, before the redraw confirms it. */
function showTask(task) {
  if (typeof task?.id !== "string") return;
  const row = document.querySelector(`[data-task="${CSS.escape(task.id)}"]`);
  if (row === null) return;
  row.classList.toggle("plan-task--done", task.done === true);
  const state = row.querySelector("[data-task-state]");
  if (state === null) return;
  if (task.done === true) state.replaceChildren(chip("ok", "Done", "check"));
  else if (task.overdue === true) state.replaceChildren(chip("danger", "Overdue", "alert"));
  else state.replaceChildren(chip("neutral", "Open", "clock"));
}

let redrawTimer = null;
let redrawing = false;

async function redraw() {
  redrawTimer = null;
  if (redrawing) {
    later();
    return;
  }
  redrawing = true;
  try {
    const answer = await fetch(window.location.pathname, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    for (const region of document.querySelectorAll("[data-plan-region]")) {
      const name = region.dataset.planRegion;
      const replacement = fresh.querySelector(`[data-plan-region="${CSS.escape(name)}"]`);
      if (replacement === null) continue;
      if (region.contains(document.activeElement)) {
        region.addEventListener("focusout", later, { once: true });
        continue;
      }
      region.replaceChildren(...[...replacement.childNodes].map((node) => document.adoptNode(node)));
    }
  } catch {
    // Offline for a moment: the next event, or a reload, draws the plan again.
  } finally {
    redrawing = false;
  }
}

function later() {
  if (redrawTimer !== null) clearTimeout(redrawTimer);
  redrawTimer = setTimeout(redraw, REDRAW_DELAY_MS);
}

function onPlanEvent(frame) {
  if (!PLAN_EVENTS.has(frame.type) || frame.matter?.id !== root.dataset.matter) return;
  showProgress(frame.matter);
  if (frame.task) showTask(frame.task);
  const announce = document.querySelector("[data-plan-announce]");
  if (announce !== null && typeof frame.summary === "string") announce.textContent = frame.summary;
  later();
}

if (root !== null && socket !== null) {
  socket.on("event", onPlanEvent);
  // Followed from here on (matters.js subscribes on the same hello, from the last event
  // the page was drawn with): what changes next reaches this page.
  socket.on("hello", () => {
    root.dataset.planLive = "true";
  });
}
