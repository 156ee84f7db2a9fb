// A request's page kept true while it is open: when something about it changes, the page is
// fetched again and each [data-region] block is swapped for its new version, except one that
// `busy(region)` says someone is working in (a form with focus or typed input). Calls that
// arrive while a fetch runs are folded into one more fetch after it: the newest state wins.

/**
 * A function that brings the page's regions up to date from `url` (the page's own address:
 * after a refused form is shown at the form's address, that one only takes a POST);
 * `replaced(node)` runs on each new region.
 */
export function regionRefresher({ busy, url = window.location.href, replaced = () => {} }) {
  let refreshing = null;
  let again = false;

  async function refresh() {
    if (refreshing !== null) {
      again = true;
      return;
    }
    refreshing = (async () => {
      try {
        const response = await fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual" });
        if (!response.ok) return;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const region of document.querySelectorAll("[data-region]")) {
          const replacement = fresh.querySelector(`[data-region="${CSS.escape(region.dataset.region)}"]`);
          if (replacement === null || busy(region)) continue;
          const node = document.importNode(replacement, true);
          region.replaceWith(node);
          replaced(node);
        }
      } catch (problem) {
        console.warn("The request could not be brought up to date:", problem);
      } finally {
        refreshing = null;
        if (again) {
          again = false;
          refresh();
        }
      }
    })();
  }

  return refresh;
}

/** A region holding a form that has focus or typed input: a refresh leaves it as it is. */
export function formBusy(region) {
  if (region.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) return true;
  for (const field of region.querySelectorAll("textarea, input[type=text], input:not([type])")) {
    if (field.value !== field.defaultValue) return true;
  }
  for (const choice of region.querySelectorAll("input[type=radio], input[type=checkbox]")) {
    if (choice.checked !== choice.defaultChecked) return true;
  }
  for (const select of region.querySelectorAll("select")) {
    for (const option of select.options) if (option.selected !== option.defaultSelected) return true;
  }
  return false;
}
