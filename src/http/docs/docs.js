"use strict";
// Renders the API description (fetched from ./openapi.json next to this
// page) as a readable page: operations by tag with their parameters, bodies
// and responses, then every named schema. Text from the document is only ever
// set as text (never parsed as HTML).
(function () {
  const METHODS = ["get", "post", "put", "patch", "delete"];
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  };
  // Text with its `code` spans, into `node` (as text nodes).
  const rich = (node, text) => {
    String(text || "").split(/(`[^`]+`)/).forEach((part) => {
      if (part.startsWith("`") && part.endsWith("`") && part.length > 1) node.append(el("code", {}, part.slice(1, -1)));
      else node.append(part);
    });
    return node;
  };
  // The paragraphs of a description.
  const prose = (text) => {
    const wrap = el("div", { class: "prose" });
    for (const para of String(text || "").split(/\n\s*\n/)) {
      if (para.trim()) wrap.append(rich(el("p"), para));
    }
    return wrap;
  };
  const refName = (ref) => decodeURIComponent(ref.split("/").pop());
  const anchor = (kind, name) => kind + "-" + String(name).replace(/[^A-Za-z0-9_.-]/g, "_");

  let doc = null;
  const resolve = (obj) => {
    // A reference to a component (responses, parameters), followed once.
    if (obj && obj.$ref && obj.$ref.startsWith("#/components/")) {
      const [, , kind, name] = obj.$ref.split("/");
      const target = ((doc.components || {})[kind] || {})[decodeURIComponent(name)];
      return target ? Object.assign({ __ref: refName(obj.$ref) }, target) : obj;
    }
    return obj;
  };

  // A one-line summary of a schema's type: `string`, `array of Money`, ...
  function typeLabel(s) {
    if (!s || typeof s !== "object") return el("span", { class: "type" }, "any");
    if (s.$ref) {
      const name = refName(s.$ref);
      return el("a", { class: "type", href: "#" + anchor("schema", name) }, name);
    }
    const variants = s.oneOf || s.anyOf;
    if (variants) {
      // `T | null` reads better than `null | T`.
      const isNull = (v) => v && v.type === "null";
      const ordered = variants.filter((v) => !isNull(v)).concat(variants.filter(isNull));
      const out = el("span");
      ordered.forEach((v, i) => { if (i) out.append(" | "); out.append(typeLabel(v)); });
      return out;
    }
    if (s.allOf && s.allOf.length === 1) return typeLabel(s.allOf[0]);
    let types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    const out = el("span", { class: "type" });
    if (types.includes("array")) {
      out.append("array of ", typeLabel(s.items));
      types = types.filter((t) => t !== "array");
      if (types.length) out.append(" | " + types.join(" | "));
      return out;
    }
    if (types.includes("object") && s.additionalProperties && typeof s.additionalProperties === "object" && !s.properties) {
      out.append("map of string → ", typeLabel(s.additionalProperties));
      return out;
    }
    out.append(types.length ? types.join(" | ") : s.allOf ? "object" : "any");
    return out;
  }

  // What a schema says beyond its type: format, pattern, bounds, values.
  function notes(s) {
    const parts = [];
    if (!s || typeof s !== "object") return parts;
    if (s.format) parts.push("format " + s.format);
    if (s.enum) parts.push("one of " + s.enum.map((v) => JSON.stringify(v)).join(", "));
    if (s.pattern) parts.push("pattern " + s.pattern);
    if (s.minimum !== undefined) parts.push("≥ " + s.minimum);
    if (s.maximum !== undefined) parts.push("≤ " + s.maximum);
    if (s.minLength !== undefined) parts.push("min length " + s.minLength);
    if (s.maxLength !== undefined) parts.push("max length " + s.maxLength);
    if (s.default !== undefined) parts.push("default " + JSON.stringify(s.default));
    if (s.examples && s.examples.length) parts.push("e.g. " + JSON.stringify(s.examples[0]));
    return parts;
  }

  // A schema as a tree: its type, then its properties (nested objects and
  // the members of allOf/oneOf expanded a few levels; named schemas linked).
  function schemaTree(s, depth) {
    const box = el("div", { class: "schema" });
    if (!s || typeof s !== "object") { box.append(typeLabel(s)); return box; }
    const line = el("div", {}, typeLabel(s));
    const n = notes(s);
    if (n.length) line.append(" ", el("span", { class: "note" }, "(" + n.join("; ") + ")"));
    box.append(line);
    if (s.description && depth > 0) box.append(rich(el("div", { class: "note" }), s.description));
    if (depth > 4 || s.$ref) return box;
    const members = s.allOf || ((s.oneOf || s.anyOf || []).some((v) => v.properties || (v.allOf)) ? (s.oneOf || s.anyOf) : null);
    if (members && members.length > 1) {
      const list = el("ul");
      members.forEach((m) => list.append(el("li", {}, schemaTree(m, depth + 1))));
      box.append(el("div", { class: "note" }, s.allOf ? "all of:" : "one of:"), list);
    }
    const props = s.properties || (s.allOf && s.allOf.length === 1 && s.allOf[0].properties);
    if (props) {
      const required = new Set(s.required || []);
      const list = el("ul");
      for (const [name, p] of Object.entries(props)) {
        const item = el("li", {}, el("span", { class: "prop" }, name), required.has(name) ? el("span", { class: "req", title: "required" }, "*") : null, ": ", typeLabel(p));
        const pn = notes(p);
        if (pn.length) item.append(" ", el("span", { class: "note" }, "(" + pn.join("; ") + ")"));
        if (p.description) item.append(rich(el("div", { class: "note" }), p.description));
        const inner = p.items && !p.items.$ref ? p.items : p;
        if (!inner.$ref && (inner.properties || inner.allOf)) item.append(schemaTree(inner, depth + 1));
        list.append(item);
      }
      box.append(list);
    }
    if (s.items && !s.items.$ref && (s.items.properties || s.items.allOf)) box.append(schemaTree(s.items, depth + 1));
    return box;
  }

  function contentList(content) {
    const wrap = el("div");
    for (const [ctype, media] of Object.entries(content || {})) {
      wrap.append(el("div", { class: "ctype" }, ctype), schemaTree(media.schema, 0));
    }
    return wrap;
  }

  function operation(method, path, op) {
    const secured = (op.security || doc.security || []).some((r) => Object.keys(r).length > 0);
    const optional = (op.security || []).some((r) => Object.keys(r).length === 0);
    const summary = el("summary", {},
      el("span", { class: "method m-" + method }, method.toUpperCase()),
      el("span", { class: "path mono" }, path),
      el("span", {}, op.summary || ""),
      secured ? el("span", { class: "lock", title: "Authorization: Bearer <token>" }, optional ? "token optional" : "🔒 bearer token") : null);
    const body = el("div", { class: "op-body" });
    if (op.description) body.append(prose(op.description));
    const params = (op.parameters || []).map(resolve);
    if (params.length) {
      const rows = params.map((p) => el("tr", {},
        el("td", {}, el("span", { class: "prop" }, p.name), p.required ? el("span", { class: "req", title: "required" }, "*") : null),
        el("td", { class: "note" }, p.in),
        el("td", {}, schemaTree(p.schema, 1)),
        rich(el("td"), p.description)));
      body.append(el("h4", {}, "Parameters"),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", {}, "In"), el("th", {}, "Type"), el("th", {}, "Description"))), el("tbody", {}, rows)));
    }
    if (op.requestBody) {
      const rb = resolve(op.requestBody);
      body.append(el("h4", {}, "Request body", rb.required ? el("span", { class: "req" }, " required") : null));
      if (rb.description) body.append(prose(rb.description));
      body.append(contentList(rb.content));
    }
    const rows = Object.entries(op.responses || {}).map(([status, r]) => {
      const res = resolve(r);
      const cell = rich(el("td"), res.description);
      if (res.headers) {
        for (const [h, v] of Object.entries(res.headers)) {
          cell.append(rich(el("div", { class: "note" }, "Header ", el("code", {}, h), v.description ? ": " : ""), v.description));
        }
      }
      return el("tr", {},
        el("td", { class: "status s" + status[0] }, status),
        cell,
        el("td", {}, contentList(res.content)));
    });
    body.append(el("h4", {}, "Responses"),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Status"), el("th", {}, "Meaning"), el("th", {}, "Body"))), el("tbody", {}, rows)));
    const id = anchor("op", op.operationId || method + path);
    const d = el("details", { class: "op", id }, summary, body);
    d.dataset.search = [method, path, op.summary || "", (op.tags || []).join(" "), op.operationId || ""].join(" ").toLowerCase();
    return d;
  }

  function render() {
    document.getElementById("title").textContent = doc.info.title;
    document.title = doc.info.title;
    document.getElementById("version").textContent = "version " + doc.info.version + " · OpenAPI " + doc.openapi;
    const intro = document.getElementById("intro");
    intro.append(prose(doc.info.description));
    const toc = document.getElementById("toc");
    const ops = document.getElementById("operations");
    ops.textContent = "";
    const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const m of METHODS) {
        if (!item[m]) continue;
        const tag = (item[m].tags || ["other"])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([m, path, item[m]]);
      }
    }
    const tagInfo = new Map((doc.tags || []).map((t) => [t.name, t]));
    for (const [tag, list] of byTag) {
      if (!list.length) continue;
      const group = el("div", { class: "tag-group" });
      group.append(el("h2", { class: "tag", id: anchor("tag", tag) }, tag));
      if (tagInfo.get(tag) && tagInfo.get(tag).description) group.append(el("p", { class: "muted" }, tagInfo.get(tag).description));
      toc.append(el("h2", {}, tag));
      for (const [m, path, op] of list) {
        const node = operation(m, path, op);
        group.append(node);
        const link = el("a", { href: "#" + node.id, title: path }, m.toUpperCase() + " " + path);
        link.dataset.search = node.dataset.search;
        toc.append(link);
      }
      ops.append(group);
    }
    const schemas = document.getElementById("schemas");
    const named = Object.entries((doc.components || {}).schemas || {});
    if (named.length) {
      schemas.append(el("h2", { class: "tag", id: "schemas-title" }, "Schemas"));
      toc.append(el("h2", {}, "Schemas"));
      for (const [name, s] of named) {
        const def = el("section", { class: "schema-def", id: anchor("schema", name) }, el("h3", {}, name));
        if (s.description) def.append(prose(s.description));
        def.append(schemaTree(s, 0));
        def.dataset.search = ("schema " + name).toLowerCase();
        schemas.append(def);
        const link = el("a", { href: "#" + def.id }, name);
        link.dataset.search = def.dataset.search;
        toc.append(link);
      }
    }
    // A link to an operation opens it.
    const open = () => {
      const target = location.hash && document.getElementById(location.hash.slice(1));
      if (target && target.tagName === "DETAILS") target.open = true;
    };
    window.addEventListener("hashchange", open);
    open();
  }

  document.getElementById("filter").addEventListener("input", (e) => {
    const words = e.target.value.toLowerCase().split(/\s+/).filter(Boolean);
    document.querySelectorAll("[data-search]").forEach((node) => {
      node.classList.toggle("hidden", !words.every((w) => node.dataset.search.includes(w)));
    });
    document.querySelectorAll(".tag-group").forEach((g) => {
      g.classList.toggle("hidden", !g.querySelector("details.op:not(.hidden)"));
    });
  });

  const source = location.pathname.replace(/\/docs\/?$/, "/openapi.json");
  fetch(source, { headers: { Accept: "application/json" } })
    .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then((d) => { doc = d; render(); })
    .catch((err) => {
      const ops = document.getElementById("operations");
      ops.textContent = "";
      ops.append(el("p", {}, "Could not load the API description from ", el("code", {}, source), ": " + err.message));
    });
})();
