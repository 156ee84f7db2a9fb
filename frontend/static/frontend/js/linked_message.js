// A link to one message of a conversation (`/threads/thr_…/#seq-12`, from search or a
// notification) may point further back than the newest messages the page starts with: the
// page then loads earlier messages, a bounded number of pages, until that one is shown.

// How far back a link pages (of the history's 50 messages each).
const LINK_PAGES = 40;

/** The seq a `#seq-N` link asks for when it is older than what `view` shows, else null. */
export function linkedSeqToFetch(view) {
  const match = /^#seq-(\d+)$/.exec(window.location.hash);
  if (match === null || !view.hasMore) return null;
  const seq = Number(match[1]);
  return seq < view.oldestSeq() ? seq : null;
}

/** Page `view` back until message `target` is shown, then show it; say so if it is gone
 * (deleted, or further back than LINK_PAGES). */
export async function revealLinked(view, target) {
  if (target == null) return;
  for (let page = 0; page < LINK_PAGES && view.hasMore && view.oldestSeq() > target; page += 1) {
    const before = view.oldestSeq();
    await view.loadEarlier();
    if (view.oldestSeq() === before) break; // the history could not be loaded
  }
  if (!view.scrollToLinkedMessage() && view.announcer !== null) {
    view.announcer.textContent = "That message is not in this conversation any more.";
  }
}
