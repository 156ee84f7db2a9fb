// Draws thread events with a renderer module in node, with just enough of a DOM (elements
// with children, attributes and data, found by attribute) and the kit the portal hands
// renderers (el, notice, stamp, chip). Usage: node signature_cards.mjs RENDERER FRAMES_JSON.
// Prints, per frame, the line's text and the first card's status and "next" line (or null
// when the renderer drew nothing).

const made = [];
const camel = (name) => name.replace(/^data-/, "").replace(/-([a-z])/g, (_, x) => x.toUpperCase());

class E {
  constructor(tag) {
    this.tag = tag;
    this.children = [];
    this.attrs = {};
    this.dataset = {};
    this.hidden = false;
    made.push(this);
  }
  append(...xs) {
    this.children.push(...xs);
  }
  replaceChildren(...xs) {
    this.children = [...xs];
  }
  setAttribute(k, v) {
    this.attrs[k] = v;
  }
  get textContent() {
    return this.children.map((c) => (typeof c === "string" ? c : c.textContent)).join("");
  }
  set textContent(v) {
    this.children = [String(v)];
  }
  *all() {
    for (const c of this.children) {
      if (c instanceof E) {
        yield c;
        yield* c.all();
      }
    }
  }
  querySelector(selector) {
    const name = selector.slice(1, -1);
    for (const c of this.all()) if (name in c.attrs || c.dataset[camel(name)] !== undefined) return c;
    return null;
  }
}

globalThis.CSS = { escape: (s) => s };
globalThis.document = {
  querySelectorAll(selector) {
    const id = selector.match(/"(.*)"/)[1];
    return made.filter((e) => e.dataset.signatureCard === id);
  },
};

function el(tag, { className = "", text = null, attrs = {} } = {}) {
  const e = new E(tag);
  e.className = className;
  if (text !== null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

const kit = {
  el,
  notice: (frame, className) => el("li", { className }),
  stamp: () => {},
  chip: (tone, words) => el("span", { className: `chip--${tone}`, text: words }),
};

const [renderer, framesJson] = process.argv.slice(2);
const { renderers } = await import(renderer);
const out = [];
let card = null;
for (const frame of JSON.parse(framesJson)) {
  const item = renderers[frame.type](frame, kit);
  if (item === null) {
    out.push(null);
    continue;
  }
  card ??= [...item.all()].find((e) => e.dataset.signatureCard);
  out.push({
    text: item.textContent,
    card: card.querySelector("[data-card-status]").textContent,
    next: card.querySelector("[data-card-next]").textContent,
  });
}
console.log(JSON.stringify(out));
