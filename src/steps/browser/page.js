// gaterun's view of a page (src/steps/browser/script.rs): one function, called with an
// operation and its arguments, returning plain JSON. Elements are found by CSS selector or by
// `text=…` (the innermost elements whose visible text holds it, case and spacing ignored;
// `text="…"` the whole text exactly).
(op, args) => {
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    if (el.checkVisibility) return el.checkVisibility({ visibilityProperty: true });
    const s = getComputedStyle(el);
    return s.visibility !== "hidden" && s.display !== "none";
  };
  const textOf = (el) => {
    if (el instanceof HTMLInputElement && ["button", "submit", "reset"].includes(el.type)) {
      return el.value;
    }
    return el.innerText !== undefined ? el.innerText : el.textContent;
  };
  const find = (sel) => {
    if (!sel.startsWith("text=")) return Array.from(document.querySelectorAll(sel));
    let want = sel.slice(5);
    const exact = want.length >= 2 && want.startsWith('"') && want.endsWith('"');
    want = exact ? norm(want.slice(1, -1)) : norm(want).toLowerCase();
    const all = Array.from(document.querySelectorAll("body, body *")).filter((el) => {
      if (el.tagName === "SCRIPT" || el.tagName === "STYLE") return false;
      const t = norm(textOf(el));
      return exact ? t === want : t.toLowerCase().includes(want);
    });
    return all.filter((el) => !all.some((o) => o !== el && el.contains(o)));
  };
  const first = (sel) => find(sel).find(visible);
  // What a look returns stays small whatever the page holds: each text at most 1 MiB.
  const CAP = 1 << 20;
  const cut = (s) => (s.length > CAP ? s.slice(0, CAP) : s);
  if (op === "locate") {
    const all = find(args.sel);
    const el = all.find(visible);
    if (!el) return { matched: all.length };
    el.scrollIntoView({ block: "center", inline: "center" });
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    const editable =
      el.isContentEditable ||
      ((el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) && !el.readOnly);
    return {
      matched: all.length,
      x,
      y,
      enabled: !el.disabled,
      editable,
      covered: !!hit && !el.contains(hit) && !hit.contains(el),
    };
  }
  if (op === "clear") {
    const el = first(args.sel);
    if (!el) return false;
    el.focus();
    if ("value" in el) {
      el.value = "";
    } else {
      const range = document.createRange();
      range.selectNodeContents(el);
      const s = getSelection();
      s.removeAllRanges();
      s.addRange(range);
    }
    return true;
  }
  if (op === "changed") {
    const el = document.activeElement;
    if (el) el.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }
  if (op === "state") {
    const capture = ([sel, attr]) => {
      const el = sel.startsWith("text=") ? first(sel) : document.querySelector(sel);
      if (!el) return { found: false };
      if (attr === null) return { found: true, value: cut(norm(textOf(el))) };
      const v = el.getAttribute(attr);
      return v === null ? { found: true } : { found: true, value: cut(v) };
    };
    const text = document.body ? document.body.innerText : "";
    return {
      title: cut(document.title),
      titleCut: document.title.length > CAP,
      url: cut(location.href),
      urlCut: location.href.length > CAP,
      text: cut(text),
      textCut: text.length > CAP,
      visible: args.visible.map((sel) => {
        const all = find(sel);
        return { matched: all.length, visible: all.filter(visible).length };
      }),
      count: args.count.map((sel) => find(sel).length),
      captures: args.captures.map(capture),
    };
  }
  throw new Error("gaterun: unknown operation " + op);
}
