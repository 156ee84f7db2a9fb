// Opening a ticket with files. Without files the form is sent as it is. With files, it is
// sent in the background (asking for JSON); once the ticket exists each file goes to the
// vault into the ticket's conversation, exactly as the thread page shares a file
// (uploads.js), with progress shown here; then the ticket's page opens. A form the server
// refuses is sent again the ordinary way, so that its errors show at their fields.

import { PartsUpload, formatBytes } from "./uploads.js";

const form = document.querySelector("form[data-new-ticket]");

function item(text) {
  const row = document.createElement("li");
  row.className = "composer-upload";
  const name = document.createElement("span");
  name.textContent = text;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", `Sending ${text}`);
  const meta = document.createElement("span");
  meta.className = "composer-upload-meta muted";
  row.append(name, bar, meta);
  return { row, bar, meta };
}

async function sendFiles(files, thread, token, list) {
  let failed = 0;
  for (const file of files) {
    const { row, bar, meta } = item(file.name);
    list.append(row);
    const upload = new PartsUpload(file, {
      token,
      opening: { thread, note: "" },
      onProgress: (sent, size) => {
        bar.value = size > 0 ? Math.floor((100 * sent) / size) : 100;
        meta.textContent = `${bar.value}% · ${formatBytes(sent)} of ${formatBytes(size)}`;
      },
      onStoring: () => {
        bar.value = 100;
        meta.textContent = "Sent · checking and storing…";
      },
    });
    const answer = await upload.run();
    if (answer.status === 201 || answer.storedUnseen) {
      meta.textContent = "Sent.";
    } else {
      failed += 1;
      meta.textContent = answer.body?.error?.message ?? "Not sent: add it in the ticket's conversation.";
    }
  }
  return failed;
}

if (form !== null) {
  const box = form.querySelector("[data-attachments]");
  const input = form.querySelector("[data-ticket-files]");
  const list = form.querySelector("[data-ticket-uploads]");
  const error = form.querySelector("[data-ticket-error]");
  const maxBytes = Number(form.dataset.maxBytes);
  box.hidden = false; // files need this script; without it the form works without them
  let plain = false;
  form.addEventListener("submit", async (event) => {
    const files = [...input.files];
    if (plain || files.length === 0) return;
    event.preventDefault();
    const large = files.find((file) => file.size > maxBytes);
    if (large !== undefined) {
      error.textContent = `${large.name} is larger than the limit of ${formatBytes(maxBytes)}.`;
      error.hidden = false;
      return;
    }
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    error.hidden = true;
    const data = new FormData(form);
    data.delete(input.name || "files");
    const token = data.get("csrfmiddlewaretoken");
    let response = null;
    try {
      response = await fetch(window.location.pathname, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
    } catch {
      response = null;
    }
    if (response === null || response.status !== 201) {
      // Refused (or no answer): the ordinary way shows why, at the fields.
      plain = true;
      submit.disabled = false;
      form.requestSubmit(submit);
      return;
    }
    const ticket = await response.json();
    list.hidden = false;
    input.disabled = true;
    const failed = await sendFiles(files, ticket.thread, token, list);
    if (failed > 0) {
      // Leave the reasons in view a moment; the ticket exists, so it opens anyway.
      error.textContent = "The ticket is open, but some files were not sent: add them in its conversation.";
      error.hidden = false;
      await new Promise((resolve) => window.setTimeout(resolve, 4000));
    }
    window.location.assign(ticket.url);
  });
}
