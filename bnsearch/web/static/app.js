// The search page of bnsearch. Every string from the index reaches the page through
// textContent or a text node (never parsed as HTML), so a title holding "<script>" stays text.
"use strict";

(function () {
  const PAGE_SIZE = 10;
  const $ = (id) => document.getElementById(id);
  const numbers = new Intl.NumberFormat("bn-BD");
  const state = { q: "", section: "", page: 1, article: "" };
  let completionTimer = null;
  let completionSeq = 0;
  let selected = -1;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  // A highlight {text, spans, truncated_*} as text nodes and <mark> elements.
  function marked(fragment) {
    const out = document.createDocumentFragment();
    if (fragment.truncated_before) out.append("… ");
    let cursor = 0;
    for (const [start, end] of fragment.spans) {
      out.append(document.createTextNode(fragment.text.slice(cursor, start)));
      out.append(el("mark", {}, fragment.text.slice(start, end)));
      cursor = end;
    }
    out.append(document.createTextNode(fragment.text.slice(cursor)));
    if (fragment.truncated_after) out.append(" …");
    return out;
  }

  async function getJSON(path, params) {
    const query = new URLSearchParams(params).toString();
    const response = await fetch(query ? `${path}?${query}` : path, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body && body.error ? body.error.message : `HTTP ${response.status}`);
    return body;
  }

  function articleHref(id) {
    return `?${new URLSearchParams({ article: id }).toString()}`;
  }

  function meta(item) {
    const parts = [];
    if (item.section && item.section.length) parts.push(item.section.join(" › "));
    if (item.published) parts.push(item.published.slice(0, 10));
    if (item.source) parts.push(item.source);
    return parts.join(" · ");
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  // -- URL state ------------------------------------------------------------------------
  function readURL() {
    const params = new URLSearchParams(location.search);
    state.q = params.get("q") || "";
    state.section = params.get("section") || "";
    state.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    state.article = params.get("article") || "";
  }

  function writeURL(push) {
    const params = new URLSearchParams();
    if (state.article) params.set("article", state.article);
    else {
      if (state.q) params.set("q", state.q);
      if (state.section) params.set("section", state.section);
      if (state.page > 1) params.set("page", String(state.page));
    }
    const url = params.toString() ? `?${params}` : location.pathname;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }

  function show() {
    $("q").value = state.q;
    if (state.article) return showArticle(state.article);
    return runSearch();
  }

  function go(changes) {
    Object.assign(state, changes);
    writeURL(true);
    return show();
  }

  // -- search -------------------------------------------------------------------------
  async function runSearch() {
    $("article-view").hidden = true;
    $("search-view").hidden = false;
    $("results").replaceChildren();
    $("facet-list").replaceChildren();
    $("facets").hidden = true;
    $("pager").hidden = true;
    $("suggestion").hidden = true;
    if (!state.q.trim()) {
      setStatus("খবরের শিরোনাম বা লেখায় যা খুঁজতে চান, লিখুন।");
      return;
    }
    setStatus("খোঁজা হচ্ছে…");
    const params = { q: state.q, limit: PAGE_SIZE, offset: (state.page - 1) * PAGE_SIZE };
    if (state.section) params.section = state.section;
    let data;
    try {
      data = await getJSON("search", params);
    } catch (error) {
      setStatus(`খোঁজা গেল না: ${error.message}`);
      return;
    }
    const total = numbers.format(data.total) + (data.total_is_exact ? "" : "+");
    setStatus(data.total
      ? `মোট ${total}টি খবর পাওয়া গেছে (${numbers.format(Math.round(data.took_ms))} মি.সে.)`
      : "কোনো খবর পাওয়া যায়নি।");
    showSuggestion(data.suggestion);
    showFacets(data.facets.section || {});
    for (const hit of data.hits) $("results").append(hitItem(hit));
    showPager(data);
  }

  function hitItem(hit) {
    const link = el("a", { href: articleHref(hit.id), "data-id": hit.id });
    link.append(hit.highlights.title ? marked(hit.highlights.title) : document.createTextNode(hit.title || hit.id));
    link.addEventListener("click", (event) => {
      event.preventDefault();
      go({ article: hit.id });
    });
    const item = el("li", { class: "hit" }, el("h3", {}, link), el("p", { class: "meta" }, meta(hit)));
    if (hit.highlights.body) {
      const snippet = el("p", { class: "snippet" });
      snippet.append(marked(hit.highlights.body));
      item.append(snippet);
    }
    return item;
  }

  function showSuggestion(suggestion) {
    if (!suggestion) return;
    const link = $("suggestion-link");
    link.textContent = suggestion;
    link.setAttribute("href", `?${new URLSearchParams({ q: suggestion })}`);
    link.onclick = (event) => {
      event.preventDefault();
      go({ q: suggestion, page: 1, section: "" });
    };
    $("suggestion").hidden = false;
  }

  function showFacets(counts) {
    const entries = Object.entries(counts);
    if (!entries.length && !state.section) return;
    const list = $("facet-list");
    const all = el("button", { type: "button", class: state.section ? "" : "active" }, "সব বিভাগ");
    all.addEventListener("click", () => go({ section: "", page: 1 }));
    list.append(el("li", {}, all));
    for (const [name, count] of entries) {
      const button = el("button", { type: "button", "data-section": name, class: name === state.section ? "active" : "" },
        el("span", {}, name), el("span", { class: "count" }, numbers.format(count)));
      button.addEventListener("click", () => go({ section: name, page: 1 }));
      list.append(el("li", {}, button));
    }
    $("facets").hidden = false;
  }

  function showPager(data) {
    const pages = Math.ceil(data.total / PAGE_SIZE);
    if (pages <= 1) return;
    $("page-no").textContent = `পাতা ${numbers.format(state.page)} / ${numbers.format(pages)}`;
    $("prev").disabled = state.page <= 1;
    $("next").disabled = state.page >= pages || state.page * PAGE_SIZE >= 10000;
    $("pager").hidden = false;
  }

  // -- article view ---------------------------------------------------------------------
  async function showArticle(id) {
    $("search-view").hidden = true;
    $("suggestion").hidden = true;
    $("article-view").hidden = false;
    $("related").replaceChildren();
    $("article-body").replaceChildren();
    $("article-title").textContent = "";
    $("article-meta").textContent = "";
    setStatus("");
    let article;
    try {
      article = await getJSON(`articles/${encodeURIComponent(id)}`, {});
    } catch (error) {
      setStatus(`খবরটি পাওয়া গেল না: ${error.message}`);
      return;
    }
    $("article-title").textContent = article.title || article.id;
    $("article-meta").textContent = meta(article);
    for (const paragraph of (article.body || "").split(/\n\s*\n/)) {
      if (paragraph.trim()) $("article-body").append(el("p", {}, paragraph));
    }
    try {
      const related = await getJSON(`articles/${encodeURIComponent(id)}/related`, { limit: 8 });
      for (const hit of related.hits) {
        const link = el("a", { href: articleHref(hit.id), "data-id": hit.id }, hit.title || hit.id);
        link.addEventListener("click", (event) => {
          event.preventDefault();
          go({ article: hit.id });
        });
        $("related").append(el("li", {}, link));
      }
      if (!related.hits.length) $("related").append(el("li", {}, "সম্পর্কিত কোনো খবর নেই।"));
    } catch (error) {
      $("related").append(el("li", {}, `সম্পর্কিত খবর আনা গেল না: ${error.message}`));
    }
  }

  // -- autocomplete -------------------------------------------------------------------
  function hideCompletions() {
    $("completions").hidden = true;
    $("completions").replaceChildren();
    selected = -1;
  }

  async function complete(prefix) {
    const seq = ++completionSeq;
    let data;
    try {
      data = await getJSON("complete", { prefix, limit: 8 });
    } catch (error) {
      return;
    }
    if (seq !== completionSeq || $("q").value !== prefix) return; // typed on meanwhile
    const list = $("completions");
    list.replaceChildren();
    selected = -1;
    for (const text of data.completions) {
      const item = el("li", { role: "option" }, text);
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();
        hideCompletions();
        go({ q: text, page: 1, section: "", article: "" });
      });
      list.append(item);
    }
    list.hidden = !data.completions.length;
  }

  function moveSelection(step) {
    const items = [...$("completions").children];
    if (!items.length) return;
    selected = (selected + step + items.length) % items.length;
    items.forEach((item, i) => item.setAttribute("aria-selected", String(i === selected)));
    $("q").value = items[selected].textContent;
  }

  function wire() {
    const input = $("q");
    input.addEventListener("input", () => {
      clearTimeout(completionTimer);
      const prefix = input.value;
      if (!prefix.trim()) return hideCompletions();
      completionTimer = setTimeout(() => complete(prefix), 120);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") { event.preventDefault(); moveSelection(1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); moveSelection(-1); }
      else if (event.key === "Escape") hideCompletions();
    });
    input.addEventListener("blur", () => setTimeout(hideCompletions, 150));
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(completionTimer);
      completionSeq++;
      hideCompletions();
      go({ q: input.value.trim(), page: 1, section: "", article: "" });
    });
    $("prev").addEventListener("click", () => go({ page: Math.max(1, state.page - 1) }));
    $("next").addEventListener("click", () => go({ page: state.page + 1 }));
    $("back").addEventListener("click", (event) => {
      event.preventDefault();
      history.length > 1 ? history.back() : go({ article: "" });
    });
    $("home").addEventListener("click", (event) => {
      event.preventDefault();
      go({ q: "", section: "", page: 1, article: "" });
    });
    window.addEventListener("popstate", () => { readURL(); show(); });
  }

  wire();
  readURL();
  show();
})();
