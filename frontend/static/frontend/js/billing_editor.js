// The invoice and proposal editor: live totals as lines are typed, and adding, removing and
// reordering lines. The figures follow the server's rule exactly (billing/money.py): each
// line's net is quantity × unit price × (1 − discount / 100) rounded half up to the
// currency's minor unit, its tax is net × rate / 100 rounded the same way, and the totals are
// the sums of those rounded figures. Amounts are BigInt fixed point, never floats (0.1 + 0.2
// is not money). The currencies and their decimals come from the page (#billing-currencies).
// Without this script the form still works: the server computes everything on save.

// The decimals each field may have (billing/money.py: QUANTITY_PLACES, PRICE_PLACES,
// RATE_PLACES).
const PLACES = { quantity: 4, unit_price: 4, tax_rate: 3, discount: 3 };
// quantity (10^4) × price (10^4) × (100 − discount) (10^3) / 100 → a value scaled by 10^13.
const LINE_SCALE = 10n ** 13n;
// net (minor units) × rate (10^3) / 100 → minor units scaled by 10^5.
const TAX_SCALE = 10n ** 5n;
const HUNDRED_RATE = 100n * 10n ** 3n;

/** A non-negative decimal written with a dot, as an integer scaled by 10^places; null when
 * empty, not a number, or with more decimals than allowed. */
export function parseScaled(text, places) {
  const value = String(text ?? "").trim();
  const match = /^(\d*)(?:\.(\d*))?$/.exec(value);
  if (!match || (match[1] === "" && (match[2] ?? "") === "")) return null;
  const fraction = match[2] ?? "";
  if (fraction.length > places) return null;
  return BigInt((match[1] || "0") + fraction.padEnd(places, "0"));
}

/** n / d rounded half up, for n ≥ 0 and d > 0. */
function divideHalfUp(n, d) {
  return (2n * n + d) / (2n * d);
}

/** A line's net and tax in minor units of a currency with ``minor`` decimals. */
export function lineAmounts({ quantity, unitPrice, taxRate, discount }, minor) {
  const unit = 10n ** BigInt(minor);
  const net = divideHalfUp(quantity * unitPrice * (HUNDRED_RATE - discount) * unit, LINE_SCALE);
  const tax = divideHalfUp(net * taxRate, TAX_SCALE);
  return { net, tax };
}

/** The totals of parsed lines: nets, tax per rate (rate in thousandths of a per cent),
 * subtotal, tax and total, all in minor units. */
export function totals(lines, minor) {
  const amounts = lines.map((line) => lineAmounts(line, minor));
  const bands = new Map();
  let subtotal = 0n;
  let tax = 0n;
  lines.forEach((line, i) => {
    const band = bands.get(line.taxRate) ?? { base: 0n, tax: 0n };
    band.base += amounts[i].net;
    band.tax += amounts[i].tax;
    bands.set(line.taxRate, band);
    subtotal += amounts[i].net;
    tax += amounts[i].tax;
  });
  const sorted = [...bands.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { lines: amounts, bands: sorted, subtotal, tax, total: subtotal + tax };
}

/** Minor units as the pages print amounts: thousands grouped, the currency's decimals. */
export function amountText(minorUnits, minor) {
  const negative = minorUnits < 0n;
  const digits = (negative ? -minorUnits : minorUnits).toString().padStart(minor + 1, "0");
  const whole = digits.slice(0, digits.length - minor) || "0";
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const text = minor ? `${grouped}.${digits.slice(digits.length - minor)}` : grouped;
  return negative ? `-${text}` : text;
}

/** A rate in thousandths of a per cent as the server writes it: "20", "5.5". */
export function rateText(thousandths) {
  const whole = thousandths / 1000n;
  const fraction = (thousandths % 1000n).toString().padStart(3, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

function readLine(row) {
  const field = (name) => row.querySelector(`[data-field="${name}"]`);
  const texts = Object.fromEntries(Object.keys(PLACES).map((name) => [name, field(name).value.trim()]));
  const description = field("description").value.trim();
  const empty = !description && Object.values(texts).every((t) => t === "");
  const parsed = {};
  let complete = true;
  for (const [name, places] of Object.entries(PLACES)) {
    const text = name === "discount" && texts[name] === "" ? "0" : texts[name];
    const value = parseScaled(text, places);
    const bad = texts[name] !== "" && (value === null || (name === "quantity" && value === 0n)
      || ((name === "tax_rate" || name === "discount") && value > HUNDRED_RATE));
    if (bad) field(name).setAttribute("aria-invalid", "true");
    else field(name).removeAttribute("aria-invalid");
    if (value === null || bad) complete = false;
    parsed[name] = value;
  }
  if (empty || !complete) return { empty, line: null };
  return {
    empty,
    line: {
      quantity: parsed.quantity,
      unitPrice: parsed.unit_price,
      taxRate: parsed.tax_rate,
      discount: parsed.discount,
    },
  };
}

function setUp(form) {
  const currencies = JSON.parse(document.getElementById("billing-currencies")?.textContent ?? "{}");
  const select = form.querySelector("[data-currency]");
  const body = form.querySelector("[data-lines]");
  const template = form.querySelector("template[data-line-template]");
  const bandsBox = form.querySelector("[data-bands]");
  const said = form.querySelector("[data-total-said]");
  let sayTimer = null;

  function renumber() {
    body.querySelectorAll("tr[data-line]").forEach((row, i) => {
      const n = i + 1;
      for (const node of row.querySelectorAll("[aria-label]")) {
        node.setAttribute("aria-label", node.getAttribute("aria-label").replace(/line \d+/, `line ${n}`));
      }
      row.querySelector("[data-line-tools]")?.removeAttribute("hidden");
    });
  }

  function recompute() {
    const currency = select.value;
    const minor = Number(currencies[currency] ?? 2);
    const rows = [...body.querySelectorAll("tr[data-line]")];
    const lines = [];
    const outputs = [];
    for (const row of rows) {
      const { empty, line } = readLine(row);
      const output = row.querySelector("[data-net]");
      if (line) {
        lines.push(line);
        outputs.push(output);
      } else {
        output.textContent = empty ? "" : "—";
      }
    }
    const figures = totals(lines, minor);
    figures.lines.forEach((amounts, i) => {
      outputs[i].textContent = amountText(amounts.net, minor);
    });
    form.querySelector('[data-total="subtotal"]').textContent = amountText(figures.subtotal, minor);
    form.querySelector('[data-total="tax"]').textContent = amountText(figures.tax, minor);
    form.querySelector('[data-total="total"]').textContent = amountText(figures.total, minor);
    for (const code of form.querySelectorAll("[data-currency-code]")) code.textContent = currency;
    bandsBox.replaceChildren(
      ...figures.bands.map(([rate, band]) => {
        const wrap = document.createElement("div");
        wrap.dataset.band = rateText(rate);
        const term = document.createElement("dt");
        const base = document.createElement("span");
        base.className = "muted";
        base.textContent = `on ${amountText(band.base, minor)}`;
        term.append(`Tax ${rateText(rate)} % `, base);
        const value = document.createElement("dd");
        value.dataset.bandTax = "";
        value.textContent = `${amountText(band.tax, minor)} ${currency}`;
        wrap.append(term, value);
        return wrap;
      }),
    );
    // Said once typing pauses, not at every key.
    clearTimeout(sayTimer);
    sayTimer = setTimeout(() => {
      said.textContent = `Total ${amountText(figures.total, minor)} ${currency}`;
    }, 800);
  }

  function addLine() {
    const row = template.content.firstElementChild.cloneNode(true);
    body.append(row);
    renumber();
    row.querySelector('[data-field="description"]').focus();
  }

  form.addEventListener("input", recompute);
  select.addEventListener("change", recompute);
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || !form.contains(button)) return;
    const row = button.closest("tr[data-line]");
    if (button.hasAttribute("data-add-line")) {
      addLine();
    } else if (row && button.dataset.move === "up" && row.previousElementSibling) {
      row.previousElementSibling.before(row);
      button.focus();
    } else if (row && button.dataset.move === "down" && row.nextElementSibling) {
      row.nextElementSibling.after(row);
      button.focus();
    } else if (row && button.hasAttribute("data-remove")) {
      const next = row.nextElementSibling ?? row.previousElementSibling;
      row.remove();
      if (!body.querySelector("tr[data-line]")) addLine();
      else next?.querySelector('[data-field="description"]')?.focus();
    } else {
      return;
    }
    renumber();
    recompute();
  });
  form.querySelector("[data-add-line]").removeAttribute("hidden");
  renumber();
  recompute();
}

for (const form of document.querySelectorAll("form[data-billing-editor]")) setUp(form);
