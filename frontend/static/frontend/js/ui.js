// The portal's components for what the browser draws, the same as the template tags draw them
// (frontend/templatetags/ui.py): avatar, icon, chip. Imports nothing, so every renderer may
// use it; text from the server only ever goes in as text.

const SVG = "http://www.w3.org/2000/svg";
const AVATAR_COLOURS = 12;
const TONE_ICONS = { ok: "check", warn: "clock", danger: "alert", info: "info", neutral: null };
// Statuses as chips: kind → value → [tone, icon]; the same table as ui.py's STATUSES.
export const STATUSES = {
  matter: {
    planned: ["neutral", "clock"],
    in_progress: ["info", "chevron-right"],
    waiting_on_client: ["warn", "alert"],
    on_hold: ["neutral", "pause"],
    done: ["ok", "check"],
  },
  approval: {
    open: ["info", "clock"],
    approved: ["ok", "check"],
    changes_requested: ["warn", "edit"],
    rejected: ["danger", "x"],
    withdrawn: ["neutral", "x"],
    expired: ["neutral", "clock"],
  },
  invoice: {
    draft: ["neutral", "edit"],
    sent: ["info", "send"],
    partially_paid: ["info", "clock"],
    overdue: ["danger", "alert"],
    paid: ["ok", "check"],
    void: ["neutral", "x"],
  },
  ticket: {
    open: ["info", "message"],
    waiting_on_client: ["neutral", "pause"],
    waiting_on_firm: ["warn", "clock"],
    resolved: ["ok", "check"],
    closed: ["neutral", "x"],
  },
  priority: {
    low: ["neutral", ""],
    normal: ["neutral", ""],
    high: ["warn", "alert"],
    urgent: ["danger", "alert"],
  },
  proposal: {
    draft: ["neutral", "edit"],
    sent: ["info", "send"],
    accepted: ["ok", "check"],
    declined: ["danger", "x"],
    withdrawn: ["neutral", "x"],
    expired: ["neutral", "clock"],
  },
};

/** The sprite's address, as the page's <meta name="atrium-sprite"> gives it (hashed in production). */
function spriteUrl() {
  return document.querySelector('meta[name="atrium-sprite"]')?.content ?? "/static/frontend/img/sprite.svg";
}

/** 32-bit FNV-1a of a public id over the palette: the same colour as the server picks. */
export function colourIndex(publicId) {
  let value = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(String(publicId ?? ""))) {
    value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  }
  return value % AVATAR_COLOURS;
}

function initialsOf(name) {
  const parts = String(name ?? "").split(/\s+/).filter((p) => /\p{L}/u.test(p.charAt(0)));
  if (parts.length >= 2) return (parts[0][0] + parts[parts.length - 1][0]).toUpperCase();
  if (parts.length === 1) return parts[0].slice(0, 2).toUpperCase();
  return "?";
}

/** A person's avatar: their picture, or their initials on their colour; named by their name. */
export function avatar(person, size = "md") {
  const name = person?.name || "Someone";
  const picture = typeof person?.avatar === "string" && person.avatar.startsWith("/") ? person.avatar : "";
  if (picture) {
    const img = document.createElement("img");
    img.className = `avatar avatar--${size} avatar--image`;
    img.src = picture;
    img.alt = name;
    img.title = name;
    return img;
  }
  const node = document.createElement("span");
  node.className = `avatar avatar--${size} avatar--c${colourIndex(person?.id)}`;
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", name);
  node.title = name;
  const letters = document.createElement("span");
  letters.setAttribute("aria-hidden", "true");
  letters.textContent = person?.initials || initialsOf(name);
  node.append(letters);
  return node;
}

/** An icon from the sprite; hidden from assistive technology unless given a label. */
export function icon(name, label = "") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", `icon icon--${name}`);
  svg.setAttribute("focusable", "false");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `${spriteUrl()}#${name}`);
  svg.append(use);
  return svg;
}

/** A status chip: icon and text, never colour alone. */
export function chip(tone, label, iconName = undefined) {
  const node = document.createElement("span");
  node.className = `chip chip--${tone in TONE_ICONS ? tone : "neutral"}`;
  const glyph = iconName === undefined ? TONE_ICONS[tone] : iconName;
  if (glyph) node.append(icon(glyph));
  const text = document.createElement("span");
  text.textContent = label ?? "";
  node.append(text);
  return node;
}

/** A status as its chip: ``statusChip("matter", "done", "Done")``. */
export function statusChip(kind, value, label) {
  const [tone, glyph] = STATUSES[kind]?.[value] ?? ["neutral", null];
  return chip(tone, label, glyph ?? null);
}
