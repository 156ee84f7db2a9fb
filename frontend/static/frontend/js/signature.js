// A signature request's page, kept true while open: it follows the request's thread, and when
// an event of this request arrives (someone opened, signed, declined; the turn moved; the
// signed files are ready) it fetches the page again and swaps in the parts that changed (the
// [data-region] blocks), except a form someone is filling in. Shows who else has the page
// open (viewers.js), and gives the signing form its optional drawing pad: typing the name is
// the signature; a drawing goes with it as a PNG (a data: URL in the form's "drawn" field).

import { socket, startSocket } from "./portal.js";
import { regionRefresher } from "./regions.js";
import { watchViewers } from "./viewers.js";

const root = document.querySelector("[data-signature]");

/** A region holding a form that has focus or typed input is left as it is. */
function busy(region) {
  if (region.contains(document.activeElement) && document.activeElement.matches("input, textarea, select, canvas")) return true;
  for (const field of region.querySelectorAll("textarea, input[type=text], input[type=password], input:not([type])")) {
    if (field.value !== field.defaultValue) return true;
  }
  for (const choice of region.querySelectorAll("input[type=checkbox]")) {
    if (choice.checked !== choice.defaultChecked) return true;
  }
  return region.querySelector("[data-pad-value]")?.value ? true : false;
}

const refresh = regionRefresher({
  busy,
  url: root?.dataset.url ?? window.location.href,
  replaced: (node) => startPad(node),
});

// --- the drawing pad ------------------------------------------------------------------------

const LINE_WIDTH = 2.5;

/** Draw the PNG of a `data:` URL onto the canvas. */
async function restore(url, canvas, context) {
  const bytes = Uint8Array.from(atob(url.slice(url.indexOf(",") + 1)), (c) => c.charCodeAt(0));
  const picture = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  context.drawImage(picture, 0, 0, canvas.width, canvas.height);
  picture.close();
}

/** Make the pad under `scope` (if any) drawable with a pointer; it stays optional. */
function startPad(scope) {
  const pad = scope.querySelector("[data-signature-pad]");
  if (pad === null || pad.dataset.ready === "true") return;
  const canvas = pad.querySelector("[data-pad-canvas]");
  const value = pad.querySelector("[data-pad-value]");
  const state = pad.querySelector("[data-pad-state]");
  const clear = pad.querySelector("[data-pad-clear]");
  const context = canvas.getContext("2d");
  if (context === null) return; // no canvas here: typing alone signs
  pad.dataset.ready = "true";
  pad.hidden = false;
  context.lineWidth = LINE_WIDTH;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = "#111";
  let drawing = false;
  let drawn = false;

  function at(event) {
    const box = canvas.getBoundingClientRect();
    return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height];
  }
  function save() {
    value.value = drawn ? canvas.toDataURL("image/png") : "";
    state.textContent = drawn ? "Drawing added." : "";
  }
  if (value.value.startsWith("data:image/png;base64,")) {
    // A refused form keeps the drawing: drawn again from its PNG, without loading a URL.
    drawn = true;
    restore(value.value, canvas, context).then(
      () => (state.textContent = "Your drawing is kept."),
      () => {
        drawn = false;
        save();
      },
    );
  }
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = at(event);
    context.beginPath();
    context.moveTo(x, y);
    context.lineTo(x + 0.01, y + 0.01);
    context.stroke();
    drawn = true;
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const [x, y] = at(event);
    context.lineTo(x, y);
    context.stroke();
  });
  const stop = () => {
    if (!drawing) return;
    drawing = false;
    save();
  };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  clear.addEventListener("click", () => {
    context.clearRect(0, 0, canvas.width, canvas.height);
    drawn = false;
    save();
    state.textContent = "Drawing cleared.";
  });
}

// --- start ----------------------------------------------------------------------------------

if (root !== null) {
  startPad(root);
  if (socket !== null) {
    const id = root.dataset.signature;
    const thread = root.dataset.thread;
    socket.on("hello", () => socket.track(thread, { after: Number(root.dataset.threadSeq) || 0, mode: "full" }));
    socket.on("event", (frame) => {
      if (frame.thread === thread && frame.type.startsWith("signature.") && frame.signature?.id === id) refresh();
    });
    watchViewers({
      thread,
      page: id,
      list: root.querySelector("[data-viewers]"),
      summary: root.querySelector("[data-viewers-summary]"),
      me: document.body.dataset.user ?? null,
    });
    startSocket();
  }
}
