// The document page's PDF preview: pdf.js (vendored under static/vendor/pdfjs, see its
// MANIFEST.json) draws the pages onto canvases, a few at a time. The PDF comes from the
// version's preview address, decrypted by the server as it streams and recorded as a view.
// pdf.js parses in its module worker, loaded from this origin, so the page's
// Content-Security-Policy needs nothing beyond 'self'.

const PAGES_AT_ONCE = 10;
const MAX_WIDTH_PX = 900;

function say(status, text) {
  status.textContent = text;
}

async function drawPage(pdf, number, into) {
  const page = await pdf.getPage(number);
  const natural = page.getViewport({ scale: 1 });
  const width = Math.min(MAX_WIDTH_PX, into.clientWidth || MAX_WIDTH_PX);
  const ratio = window.devicePixelRatio || 1;
  const viewport = page.getViewport({ scale: (width / natural.width) * ratio });
  const canvas = document.createElement("canvas");
  canvas.className = "pdf-page";
  canvas.width = Math.floor(viewport.width);
  canvas.height = Math.floor(viewport.height);
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `Page ${number} of ${pdf.numPages}`);
  canvas.dataset.page = String(number);
  into.append(canvas);
  await page.render({ canvas, viewport }).promise;
  page.cleanup();
}

async function preview(holder) {
  const status = holder.querySelector("[data-pdf-status]");
  const pages = holder.querySelector("[data-pdf-pages]");
  const more = holder.querySelector("[data-pdf-more]");
  let pdfjs;
  try {
    pdfjs = await import(holder.dataset.pdfjs);
  } catch (problem) {
    console.warn("atrium: pdf.js did not load", problem);
    say(status, "The preview could not be shown here; download the file to read it.");
    return;
  }
  pdfjs.GlobalWorkerOptions.workerSrc = holder.dataset.worker;
  let pdf;
  try {
    pdf = await pdfjs.getDocument({
      url: holder.dataset.src,
      withCredentials: true,
      // The preview address streams the whole file; it answers no range requests.
      disableRange: true,
      disableStream: false,
      enableXfa: false,
      isOffscreenCanvasSupported: true,
    }).promise;
  } catch (problem) {
    console.warn("atrium: the PDF did not open", problem);
    say(status, "This PDF could not be shown here; download the file to read it.");
    return;
  }
  let drawn = 0;
  const drawMore = async () => {
    more.hidden = true;
    const last = Math.min(pdf.numPages, drawn + PAGES_AT_ONCE);
    say(status, `Showing pages ${drawn + 1} to ${last} of ${pdf.numPages}…`);
    try {
      for (let number = drawn + 1; number <= last; number += 1) {
        await drawPage(pdf, number, pages);
        drawn = number;
      }
    } catch (problem) {
      console.warn("atrium: a page of the PDF was not drawn", problem);
      say(status, `Page ${drawn + 1} could not be shown; download the file to read it.`);
      return;
    }
    const total = pdf.numPages === 1 ? "1 page" : `${pdf.numPages} pages`;
    say(status, drawn < pdf.numPages ? `Showing ${drawn} of ${total}.` : `Showing all of ${total}.`);
    holder.dataset.rendered = String(drawn);
    if (drawn < pdf.numPages) {
      more.hidden = false;
      more.textContent = `Show ${Math.min(PAGES_AT_ONCE, pdf.numPages - drawn)} more pages`;
    }
  };
  more.addEventListener("click", drawMore);
  await drawMore();
}

for (const holder of document.querySelectorAll("[data-pdf-preview]")) preview(holder);
