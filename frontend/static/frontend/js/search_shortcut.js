// The header's search box: "/" focuses it from anywhere on the page, unless the person is
// typing somewhere (a field, an editable area) or holds a modifier key.

const box = document.getElementById("site-search");

function typingSomewhere(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  return target.closest("input, textarea, select, [contenteditable='true'], [role='textbox']") !== null;
}

if (box !== null) {
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.defaultPrevented) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingSomewhere(event.target)) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
}
