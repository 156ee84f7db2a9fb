import { el, timeZone } from "./portal.js";
import { avatar, chip, icon, statusChip } from "./ui.js";

// Thread events that are not messages, as lines in a conversation. One table maps an event
// type to its renderer, the same for the page's first events, history pages and live events.
// It is filled from the modules the page names (a JSON list of URLs in #timeline-renderers):
// each app declares its event types with the static module that draws them
// (messaging/timeline.py, docs/protocol.md "Timeline"), and that module exports
//
//   export const renderers = { "vault.thing": (frame, kit) => <li> };
//
// A renderer returns the <li> for one frame, built with the kit below; text goes in as text
// only. An event with no renderer (its module failed to load, or it has none) is skipped.
// (The import stays above this comment: the production storage rewrites module paths in
// anything that reads "export … from '…';", comments included.)

const RENDERERS_ID = "timeline-renderers";
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short", timeZone });

/** The <li> every notice starts from: numbered, focusable, never part of a run of messages. */
function notice(frame, className, createdAt) {
  const item = el("li", { className: `msg notice-doc ${className}` });
  item.dataset.seq = String(frame.seq);
  item.dataset.created = createdAt ?? new Date().toISOString();
  item.dataset.author = "";
  item.id = `seq-${frame.seq}`;
  item.tabIndex = -1;
  return item;
}

/** Append " · 10:04" (the full date on hover) to a line of text. */
function stamp(text, createdAt) {
  if (!createdAt) return;
  const at = new Date(createdAt);
  if (Number.isNaN(at.getTime())) return;
  text.append(" · ", el("time", { text: timeFormat.format(at), attrs: { datetime: createdAt, title: fullFormat.format(at) } }));
}

/** What a renderer is handed besides the frame, so that it imports nothing of the portal:
 * el, notice and stamp, and the components (ui.js): avatar, chip, icon, statusChip. */
export const KIT = Object.freeze({ el, notice, stamp, avatar, chip, icon, statusChip });

/** Event type → renderer(frame); filled by loadRenderers. */
export const NOTICE_RENDERERS = {};

/** A renderer's <li>, or null when it fails: one bad event never stops the page. */
function drawn(render, frame) {
  try {
    const item = render(frame, KIT);
    if (item instanceof HTMLElement) return item;
    console.warn(`The ${frame.type} renderer returned no element.`);
  } catch (problem) {
    console.warn(`The ${frame.type} event ${frame.seq} could not be shown:`, problem);
  }
  return null;
}

/** The renderer modules' URLs the page lists (hashed names in production). */
export function rendererUrls(doc = document) {
  const node = doc.getElementById(RENDERERS_ID);
  if (node === null) return [];
  try {
    const urls = JSON.parse(node.textContent);
    return Array.isArray(urls) ? urls.filter((url) => typeof url === "string") : [];
  } catch {
    return [];
  }
}

/** Import the renderer modules and merge their `renderers` into the table. A module that
 * fails to load costs only its own event types; the first renderer of a type wins. */
export async function loadRenderers(urls = rendererUrls()) {
  const loaded = await Promise.allSettled(urls.map((url) => import(url)));
  loaded.forEach((result, index) => {
    if (result.status === "rejected") {
      console.warn(`The renderers in ${urls[index]} did not load:`, result.reason);
      return;
    }
    const renderers = result.value.renderers;
    if (renderers === null || typeof renderers !== "object") return;
    for (const [type, render] of Object.entries(renderers)) {
      if (typeof render !== "function" || Object.hasOwn(NOTICE_RENDERERS, type)) continue;
      NOTICE_RENDERERS[type] = (frame) => drawn(render, frame);
    }
  });
  return NOTICE_RENDERERS;
}
