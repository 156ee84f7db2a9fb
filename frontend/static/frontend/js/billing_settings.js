// The billing settings page: the next invoice's and credit note's numbers follow the format
// as it is typed. The page gives the next value of both counters of each kind (this year's,
// for a format with {year}, and the one without: docs/billing.md, "Numbers"); nothing is
// asked of the server, and the server still checks the format when it is saved.

const FIELD = /\{([a-z]*)(?::([^}]*))?\}/g;

/** The number `format` gives, as Python's str.format would, or null for a format the
 * server refuses ({seq} not once, {year} more than once, another field or a stray brace). */
export function numberIn(format, year, seq) {
  let seqs = 0;
  let years = 0;
  let bad = false;
  const out = format.replace(FIELD, (_whole, name, spec) => {
    if (name === "year" && spec === undefined) {
      years += 1;
      return String(year);
    }
    if (name === "seq" && (spec === undefined || /^0?[1-9]$/.test(spec))) {
      seqs += 1;
      if (spec === undefined) return String(seq);
      return String(seq).padStart(Number(spec), spec.startsWith("0") ? "0" : " ");
    }
    bad = true;
    return "";
  });
  if (bad || seqs !== 1 || years > 1 || /[{}]/.test(out) || !format.trim()) return null;
  return out;
}

for (const preview of document.querySelectorAll("[data-number-preview]")) {
  const input = document.querySelector(`input[name="${preview.dataset.numberPreview}"]`);
  const shown = preview.querySelector("[data-next-number]");
  if (input === null || shown === null) continue;
  const year = Number(preview.dataset.year);
  input.addEventListener("input", () => {
    const yearly = input.value.includes("{year");
    const seq = Number(yearly ? preview.dataset.seqYearly : preview.dataset.seqForever);
    const number = numberIn(input.value, year, seq);
    shown.textContent = number ?? "not a number format yet: it needs {seq} once";
  });
}
