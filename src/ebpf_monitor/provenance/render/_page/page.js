// The provenance page: draws the slice embedded in #slice-data with cytoscape (inlined above).
// Every text from the recorded events goes into the page through textContent, never as markup:
// file names are attacker-controlled.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("slice-data").textContent);
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // --- header: what was asked, what was read and hidden ---
  const hidden = Object.entries(data.hidden || {});
  const hiddenTotal = hidden.reduce((a, [, n]) => a + n, 0);
  $("summary").textContent =
    `${data.nodes.length} nodes, ${data.edges.length} flows; ${data.events_read} events read` +
    (hiddenTotal ? `; hidden ${hiddenTotal} (` + hidden.map(([k, n]) => `${k}: ${n}`).join(", ") + ")" : "") +
    (data.skipped ? `; ${data.skipped} malformed lines skipped` : "");
  for (const [kind, colour] of Object.entries(data.colours)) {
    const s = el("span", kind);
    s.style.setProperty("--c", colour);
    $("legend").appendChild(s);
  }
  const rootLegend = el("span", "start of the query (thick red border)");
  rootLegend.style.setProperty("--c", "#e15759");
  $("legend").appendChild(rootLegend);

  // --- graph ---
  const elements = [];
  // A file is drawn by its last name (a full path would not fit); the panel shows the whole.
  const short = (n) => (n.kind === "file" && n.label.includes("/") && !n.label.endsWith("/")
    ? n.label.slice(n.label.lastIndexOf("/") + 1) : n.label);
  for (const n of data.nodes) {
    elements.push({ group: "nodes", data: { id: n.id, label: short(n), kind: n.kind },
                    classes: n.kind + (n.root ? " root" : "") });
  }
  data.edges.forEach((e, i) => {
    elements.push({ group: "edges", data: { id: "e" + i, source: e.src, target: e.dst,
                                            label: e.caption, t: e.t, index: i } });
  });
  const style = [
    { selector: "node", style: {
        "label": "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3,
        "text-wrap": "ellipsis", "text-max-width": "170px", "width": 26, "height": 26,
        "border-width": 1, "border-color": "#333", "min-zoomed-font-size": 6 } },
    { selector: "node.process", style: { "shape": "round-rectangle", "background-color": data.colours.process } },
    { selector: "node.file", style: { "shape": "rectangle", "background-color": data.colours.file } },
    { selector: "node.endpoint", style: { "shape": "diamond", "background-color": data.colours.endpoint } },
    { selector: "node.root", style: { "border-width": 4, "border-color": "#e15759" } },
    { selector: "node.match", style: { "underlay-color": "#edc948", "underlay-opacity": 0.8, "underlay-padding": 6 } },
    { selector: "node:selected", style: { "overlay-color": "#000", "overlay-opacity": 0.2, "overlay-padding": 5 } },
    { selector: "edge", style: {
        "curve-style": "bezier", "width": 1.5, "line-color": "#888", "target-arrow-color": "#888",
        "target-arrow-shape": "triangle", "arrow-scale": 0.9, "label": "data(label)",
        "font-size": 8, "color": "#444", "text-rotation": "autorotate",
        "text-background-color": "#fff", "text-background-opacity": 0.8, "min-zoomed-font-size": 7 } },
    { selector: ".later", style: { "opacity": 0.12 } },
    { selector: "edge.later", style: { "label": "" } },
  ];
  const cy = cytoscape({ container: $("graph"), elements, style, minZoom: 0.02, maxZoom: 6,
                         textureOnViewport: data.nodes.length > 1500,
                         hideEdgesOnViewport: data.nodes.length > 1500 });

  function layoutOptions(name) {
    const o = { name, animate: false, fit: true, padding: 30 };
    if (name === "breadthfirst") {
      // Information flows left to right: sources (nothing flows into them) start the ranks.
      const sources = cy.nodes().filter((n) => n.indegree(false) === 0);
      Object.assign(o, { directed: true, spacingFactor: 1.1, grid: false,
                         roots: sources.nonempty() ? sources : cy.nodes(".root") });
    } else if (name === "cose") {
      Object.assign(o, { randomize: false, numIter: 800, nodeRepulsion: () => 9000 });
    } else if (name === "concentric") {
      Object.assign(o, { concentric: (n) => (n.hasClass("root") ? 10 : n.degree(false)), levelWidth: () => 2 });
    }
    return o;
  }

  function reportDrawn() {
    const visible = cy.nodes().filter((n) => !n.hasClass("later"));
    const out = {
      nodes: visible.map((n) => ({ id: n.id(), kind: n.data("kind"),
                                   x: Math.round(n.renderedPosition("x")), y: Math.round(n.renderedPosition("y")),
                                   colour: n.style("background-color") })),
      edges: cy.edges().filter((e) => !e.hasClass("later")).map((e) => e.data("index")),
      selected: cy.nodes(":selected").map((n) => n.id()),
      time: $("time-label").textContent,
      viewport: { w: cy.width(), h: cy.height(), zoom: cy.zoom() },
    };
    const d = $("drawn");
    d.textContent = JSON.stringify(out);
    d.dataset.state = "ready";
  }

  // Ranks run top to bottom; turn them left to right when that fills the view better (few
  // ranks of many nodes are wide, long chains are tall).
  function orient() {
    const bb = cy.nodes().boundingBox();
    if (!bb.w || !bb.h) return;
    const view = Math.log(cy.width() / Math.max(cy.height(), 1));
    if (Math.abs(Math.log(bb.h / bb.w) - view) < Math.abs(Math.log(bb.w / bb.h) - view)) {
      cy.nodes().positions((n) => ({ x: n.position("y"), y: n.position("x") }));
      cy.fit(undefined, 30);
    }
  }

  function runLayout(name) {
    const layout = cy.layout(layoutOptions(name));
    layout.one("layoutstop", () => {
      if (name === "breadthfirst") orient();
      setTimeout(reportDrawn, 0);
    });
    layout.run();
  }

  // --- time slider: step i shows the flows that had begun by the i-th distinct time ---
  const times = [...new Set(data.edges.map((e) => e.t))].sort((a, b) => a - b);
  const timeLabels = new Map(data.edges.map((e) => [e.t, e.first]));
  const slider = $("time");
  slider.max = String(times.length);
  slider.value = String(times.length);

  function applyTime() {
    const step = Number(slider.value);
    const limit = step >= times.length ? Infinity : times[step - 1] ?? -Infinity;
    $("time-label").textContent = step >= times.length ? "all flows" :
      step === 0 ? "before the first flow" : timeLabels.get(limit);
    cy.batch(() => {
      const active = new Set(data.roots);
      cy.edges().forEach((e) => {
        const later = e.data("t") > limit;
        e.toggleClass("later", later);
        if (!later) { active.add(e.data("source")); active.add(e.data("target")); }
      });
      cy.nodes().forEach((n) => n.toggleClass("later", !active.has(n.id())));
    });
  }
  slider.addEventListener("input", () => { applyTime(); reportDrawn(); });

  // --- details panel ---
  function row(table, key, value) {
    const tr = el("tr");
    tr.appendChild(el("th", key));
    tr.appendChild(el("td", Array.isArray(value) ? value.join(" ") :
      (value !== null && typeof value === "object") ? JSON.stringify(value) : value));
    table.appendChild(tr);
  }

  function flowTable(title, flows, otherEnd) {
    const box = $("details");
    box.appendChild(el("h3", `${title} (${flows.length})`));
    const table = el("table");
    for (const e of flows) {
      const other = byId.get(otherEnd(e));
      const tr = el("tr", undefined, "flow");
      tr.appendChild(el("td", e.first));
      tr.appendChild(el("td", e.caption));
      tr.appendChild(el("td", other ? other.label : otherEnd(e)));
      tr.addEventListener("click", () => select(otherEnd(e)));
      table.appendChild(tr);
    }
    box.appendChild(table);
  }

  function show(id) {
    const n = byId.get(id);
    const box = $("details");
    box.replaceChildren();
    if (!n) { box.appendChild(el("p", "no such node: " + id, "hint")); return; }
    const badge = el("span", n.kind, "kind");
    badge.style.background = data.colours[n.kind] || "#999";
    box.appendChild(badge);
    box.appendChild(el("h2", n.label));
    const attrs = el("table");
    row(attrs, "id", n.id);
    for (const [k, v] of Object.entries(n.attrs)) if (v !== null && v !== "") row(attrs, k, v);
    box.appendChild(attrs);
    flowTable("in", data.edges.filter((e) => e.dst === id), (e) => e.src);
    flowTable("out", data.edges.filter((e) => e.src === id), (e) => e.dst);
    box.appendChild(el("h3", `events (${n.events.length}${n.events_more ? ", sample" : ""})`));
    const ev = el("table");
    ev.id = "events";
    for (const e of n.events) {
      const tr = el("tr");
      tr.appendChild(el("td", e.time));
      tr.appendChild(el("td", e.action));
      tr.appendChild(el("td", e.detail));
      ev.appendChild(tr);
    }
    box.appendChild(ev);
  }

  function select(id) {
    cy.nodes(":selected").unselect();
    const node = cy.getElementById(id);
    if (node.nonempty()) node.select();
    show(id);
  }

  cy.on("tap", "node", (evt) => { show(evt.target.id()); setTimeout(reportDrawn, 0); });
  cy.on("tap", (evt) => { if (evt.target === cy) { $("details").replaceChildren(timeline()); } });

  // With nothing selected the panel lists every flow in time order.
  function timeline() {
    const frag = document.createDocumentFragment();
    frag.appendChild(el("p", "Click a node to see its attributes, flows and events.", "hint"));
    frag.appendChild(el("h3", `flows in time order (${data.edges.length})`));
    const table = el("table");
    for (const e of [...data.edges].sort((a, b) => a.t - b.t)) {
      const tr = el("tr", undefined, "flow");
      const s = byId.get(e.src), d = byId.get(e.dst);
      tr.appendChild(el("td", e.first));
      tr.appendChild(el("td", `${s ? s.label : e.src} \u2192 ${d ? d.label : e.dst}`));
      tr.appendChild(el("td", e.caption));
      tr.addEventListener("click", () => select(e.dst));
      table.appendChild(tr);
    }
    frag.appendChild(table);
    return frag;
  }

  // --- controls ---
  $("layout").addEventListener("change", (ev) => runLayout(ev.target.value));
  $("fit").addEventListener("click", () => cy.fit(undefined, 30));
  $("find").addEventListener("input", (ev) => {
    const q = ev.target.value.trim().toLowerCase();
    cy.batch(() => cy.nodes().forEach((n) => {
      const d = byId.get(n.id());
      const hay = (d.label + " " + d.id + " " + (d.attrs.pid ?? "")).toLowerCase();
      n.toggleClass("match", q !== "" && hay.includes(q));
    }));
  });

  // A link can open the page at a node and a time: page.html#select=<node id>&time=<step>.
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.has("time")) slider.value = params.get("time");
  applyTime();
  $("details").replaceChildren(timeline());
  if (params.has("select")) select(params.get("select"));
  runLayout("breadthfirst");
})();
