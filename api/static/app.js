/*
 * policy-qa web page: ask a question, read the answer and the exact sources.
 *
 * Plain script, no framework and no network access beyond this service, so the page works
 * offline next to the API. Every text that comes from the API is inserted with textContent
 * or as a text node (never innerHTML), and links are only made from http(s) URLs.
 */
"use strict";

(function () {
  const STORAGE_KEY = "policyqa.lang";
  /** The API key, when the service asks for one (401): typed once, kept for this tab only. */
  const KEY_STORAGE = "policyqa.apiKey";
  const LANGS = ["fr", "en"];

  const I18N = {
    fr: {
      page_title: "policy-qa · Questions sur les politiques européennes",
      skip_link: "Aller au contenu",
      title: "Questions sur les politiques européennes",
      subtitle:
        "Réponses tirées des documents, avec leurs sources exactes : document, section, page et notes de bas de page.",
      lang_toggle: "English",
      lang_toggle_label: "Switch the interface to English",
      ask_heading: "Poser une question",
      question_label: "Votre question",
      question_hint:
        "En français ou dans une autre langue de l’UE. Entrée pour envoyer, Maj+Entrée pour aller à la ligne.",
      question_placeholder: "Par exemple : Quel est le rôle du réseau européen d’intégration ?",
      ask_button: "Demander",
      filters_legend: "Filtres",
      fund_label: "Fonds européen",
      fund_all: "Tous les fonds",
      mentions: "{count} mention(s)",
      document_label: "Document",
      document_all: "Tous les documents",
      filters_loading: "Chargement des fonds et des documents…",
      filters_retry: "Le service démarre ; nouvel essai des filtres dans quelques secondes.",
      filters_failed: "Les filtres n’ont pas pu être chargés : {error}",
      key_label: "Clé d’accès",
      key_hint: "Ce service demande une clé d’API pour répondre. Elle est gardée dans cet onglet seulement.",
      key_button: "Utiliser cette clé",
      key_wrong: "Cette clé n’est pas acceptée : vérifiez-la et saisissez-la de nouveau.",
      advanced_summary: "Options avancées",
      mode_legend: "Mode de recherche",
      mode_auto: "Automatique (le meilleur mesuré)",
      mode_hybrid: "Hybride (mots et sens)",
      mode_dense: "Sémantique (dense)",
      mode_bm25: "Mots-clés (BM25)",
      topk_label: "Nombre de passages",
      results_heading: "Résultats",
      loading: "Recherche en cours…",
      empty_question: "Écrivez une question avant d’envoyer.",
      results_ready: "Réponse prête : {count} passage(s) cité(s).",
      results_unanswerable: "Pas de réponse dans les documents ; {count} passage(s) proche(s).",
      error_prefix: "Erreur :",
      error_network: "Le service ne répond pas. Vérifiez qu’il est démarré, puis réessayez.",
      error_status: "Le service a répondu {status} sans explication.",
      answer_heading: "Réponse",
      answer_note: "Phrases extraites des documents ; les numéros renvoient aux passages cités.",
      generated_heading: "Réponse rédigée",
      generated_model: "Rédigée par le modèle {model} à partir des passages cités.",
      no_answer_heading: "Pas de réponse dans les documents",
      no_answer_default: "Les documents indexés ne répondent pas à cette question.",
      passages_heading: "Passages cités",
      closest_heading: "Passages les plus proches",
      no_passages: "Aucun passage trouvé.",
      warnings_heading: "À savoir",
      marker_label: "Voir la source {n}",
      source_n: "Source {n} : ",
      kind_footnote: "Note de bas de page",
      section: "Section :",
      page: "p. {page}",
      pages: "p. {start}–{end}",
      footnote_n: "Note {n}",
      footnotes_heading: "Notes de bas de page",
      links_heading: "Liens",
      cited_from: "Appel de note dans : {section}",
      new_tab: "(nouvel onglet)",
      copy_button: "Copier la citation",
      copy_button_label: "Copier la citation de la source {n}",
      copied: "Citation copiée",
      footer_text:
        "Sources : documents de la Commission européenne (© Union européenne, réutilisation autorisée moyennant mention de la source).",
      footer_api: "Documentation de l’API",
      copy_failed: "La copie a échoué ; sélectionnez le texte et copiez-le à la main.",
      citation_page: "p. {page}",
      citation_pages: "p. {start}-{end}",
      citation_notes: "Notes :",
      question_asked: "Question : {question}",
      mode_used: "Mode : {mode}",
    },
    en: {
      page_title: "policy-qa · Questions on European policies",
      skip_link: "Skip to content",
      title: "Questions on European policies",
      subtitle:
        "Answers taken from the documents, with their exact sources: document, section, page and footnotes.",
      lang_toggle: "Français",
      lang_toggle_label: "Passer l’interface en français",
      ask_heading: "Ask a question",
      question_label: "Your question",
      question_hint: "In French or another EU language. Enter to send, Shift+Enter for a new line.",
      question_placeholder: "For example: What is the role of the European Integration Network?",
      ask_button: "Ask",
      filters_legend: "Filters",
      fund_label: "EU fund",
      fund_all: "All funds",
      mentions: "{count} mention(s)",
      document_label: "Document",
      document_all: "All documents",
      filters_loading: "Loading funds and documents…",
      filters_retry: "The service is starting; retrying the filters in a few seconds.",
      filters_failed: "The filters could not be loaded: {error}",
      key_label: "Access key",
      key_hint: "This service needs an API key to answer. It is kept in this tab only.",
      key_button: "Use this key",
      key_wrong: "This key is not accepted: check it and type it again.",
      advanced_summary: "Advanced options",
      mode_legend: "Search mode",
      mode_auto: "Automatic (best measured)",
      mode_hybrid: "Hybrid (words and meaning)",
      mode_dense: "Semantic (dense)",
      mode_bm25: "Keywords (BM25)",
      topk_label: "Number of passages",
      results_heading: "Results",
      loading: "Searching…",
      empty_question: "Write a question before sending.",
      results_ready: "Answer ready: {count} cited passage(s).",
      results_unanswerable: "No answer in the documents; {count} close passage(s).",
      error_prefix: "Error:",
      error_network: "The service does not answer. Check that it is running, then try again.",
      error_status: "The service answered {status} without an explanation.",
      answer_heading: "Answer",
      answer_note: "Sentences taken from the documents; the numbers point to the cited passages.",
      generated_heading: "Written answer",
      generated_model: "Written by the model {model} from the cited passages.",
      no_answer_heading: "No answer in the documents",
      no_answer_default: "The indexed documents do not answer this question.",
      passages_heading: "Cited passages",
      closest_heading: "Closest passages",
      no_passages: "No passage found.",
      warnings_heading: "Good to know",
      marker_label: "Go to source {n}",
      source_n: "Source {n}: ",
      kind_footnote: "Footnote",
      section: "Section:",
      page: "p. {page}",
      pages: "pp. {start}–{end}",
      footnote_n: "Note {n}",
      footnotes_heading: "Footnotes",
      links_heading: "Links",
      cited_from: "Referenced in: {section}",
      new_tab: "(new tab)",
      copy_button: "Copy citation",
      copy_button_label: "Copy the citation of source {n}",
      copied: "Citation copied",
      footer_text:
        "Sources: documents of the European Commission (© European Union, reuse authorised provided the source is acknowledged).",
      footer_api: "API documentation",
      copy_failed: "Copying failed; select the text and copy it by hand.",
      citation_page: "p. {page}",
      citation_pages: "pp. {start}-{end}",
      citation_notes: "Notes:",
      question_asked: "Question: {question}",
      mode_used: "Mode: {mode}",
    },
  };

  const state = {
    lang: "fr",
    funds: [],
    documents: [],
    response: null,
    error: null,
    loading: false,
    filtersMessage: null,
    apiKey: "",
  };

  // ------------------------------------------------------------------ helpers

  function t(key, vars) {
    const table = I18N[state.lang] || I18N.fr;
    let text = key in table ? table[key] : key in I18N.fr ? I18N.fr[key] : key;
    if (vars) {
      for (const [name, value] of Object.entries(vars)) {
        text = text.split("{" + name + "}").join(String(value));
      }
    }
    return text;
  }

  /** Build an element; string children become text nodes, so API text is never parsed as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const URL_RE = /https?:\/\/[^\s<>"'«»]+/gi;

  function isWebUrl(url) {
    return typeof url === "string" && /^https?:\/\/[^\s]+$/i.test(url);
  }

  /** A URL as written in running text may end with the sentence's punctuation. */
  function trimUrl(url) {
    let out = url;
    while (/[.,;:!?)\]}]$/.test(out)) {
      const last = out.slice(-1);
      if ((last === ")" && out.includes("(")) || (last === "]" && out.includes("["))) break;
      out = out.slice(0, -1);
    }
    return out;
  }

  function externalLink(url, label) {
    return el(
      "a",
      { href: url, target: "_blank", rel: "noopener noreferrer", className: "external" },
      label || url,
      el("span", { className: "visually-hidden" }, " " + t("new_tab")),
    );
  }

  /** Text with its web addresses turned into links; returns the URLs it linked. */
  function linkified(text, found) {
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of String(text).matchAll(URL_RE)) {
      const url = trimUrl(match[0]);
      if (match.index > last) fragment.append(text.slice(last, match.index));
      fragment.append(externalLink(url));
      if (found) found.add(url);
      last = match.index + url.length;
    }
    if (last < text.length) fragment.append(text.slice(last));
    return fragment;
  }

  /** Blank lines of a passage as paragraphs (single line breaks are kept by CSS). */
  function paragraphs(text, found) {
    return String(text)
      .split(/\n\s*\n/)
      .filter((part) => part.trim())
      .map((part) => el("p", {}, linkified(part.trim(), found)));
  }

  /** The start of a footnote, so that a closed footnote still says what it is about. */
  function preview(text) {
    const flat = String(text).replace(/\s+/g, " ").trim();
    return flat.length > 90 ? flat.slice(0, 89).replace(/\s+\S*$/, "") + "…" : flat;
  }

  function pageLabel(citation, keys) {
    const start = citation.page_start;
    const end = citation.page_end;
    if (start === null || start === undefined) return "";
    if (end !== null && end !== undefined && end !== start) {
      return t(keys[1], { start: start, end: end });
    }
    return t(keys[0], { page: start });
  }

  /** The section path, less a first level that only repeats the document title. */
  function sectionParts(citation) {
    const parts = (citation.section_path || []).filter(Boolean);
    return parts.length > 1 && parts[0] === citation.title ? parts.slice(1) : parts;
  }

  function sectionText(citation) {
    return sectionParts(citation).join(" › ");
  }

  function prefersReducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function announce(message) {
    const region = document.getElementById("announcer");
    region.textContent = "";
    // a fresh text node a moment later makes screen readers repeat an identical message
    window.setTimeout(function () {
      region.textContent = message;
    }, 50);
  }

  // ------------------------------------------------------------------ language

  function initialLanguage() {
    try {
      const saved = window.localStorage.getItem(STORAGE_KEY);
      if (LANGS.includes(saved)) return saved;
    } catch (err) {
      // storage may be disabled (private mode): French by default
    }
    return "fr";
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.title = t("page_title");
    for (const node of document.querySelectorAll("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n);
    }
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
    }
    const toggle = document.getElementById("lang-toggle");
    const other = state.lang === "fr" ? "en" : "fr";
    toggle.textContent = t("lang_toggle");
    toggle.setAttribute("lang", other);
    toggle.setAttribute("aria-label", t("lang_toggle_label"));
    toggle.setAttribute("title", t("lang_toggle_label"));
    renderFilterOptions();
    renderFiltersStatus();
    renderResults(false);
  }

  function setLanguage(lang) {
    state.lang = LANGS.includes(lang) ? lang : "fr";
    try {
      window.localStorage.setItem(STORAGE_KEY, state.lang);
    } catch (err) {
      // not remembered, still applied
    }
    applyLanguage();
  }

  // ------------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(message, status, detail) {
      super(message);
      this.status = status;
      this.detail = detail;
    }
  }

  function storedKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORAGE) || "";
    } catch (err) {
      return state.apiKey || "";
    }
  }

  function storeKey(key) {
    state.apiKey = key;
    try {
      if (key) window.sessionStorage.setItem(KEY_STORAGE, key);
      else window.sessionStorage.removeItem(KEY_STORAGE);
    } catch (err) {
      // storage disabled: the key lives until the page is closed
    }
  }

  /** The key field, shown when the API answers 401 (a key is needed, or the one sent is wrong). */
  function showKeyForm(wrongKey) {
    const form = document.getElementById("key-form");
    const hint = document.getElementById("key-hint");
    hint.textContent = wrongKey ? t("key_wrong") : t("key_hint");
    form.hidden = false;
    document.getElementById("api-key").focus();
  }

  function submitKey(event) {
    event.preventDefault();
    const input = document.getElementById("api-key");
    const key = input.value.trim();
    if (!key) {
      input.focus();
      return;
    }
    storeKey(key);
    input.value = "";
    document.getElementById("key-form").hidden = true;
    state.error = null;
    renderResults(false);
    loadFilters();
  }

  async function api(path, options) {
    const opts = Object.assign({}, options);
    const headers = Object.assign({ Accept: "application/json" }, opts.headers);
    const key = storedKey();
    if (key) headers["X-API-Key"] = key;
    opts.headers = headers;
    let response;
    try {
      response = await fetch(path, opts);
    } catch (err) {
      throw new ApiError(t("error_network"), 0, null);
    }
    if (response.status === 401) {
      if (key) storeKey("");
      showKeyForm(Boolean(key));
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      const message =
        body && typeof body.error === "string" && body.error
          ? body.error
          : body && typeof body.detail === "string"
            ? body.detail
            : t("error_status", { status: response.status });
      const error = new ApiError(message, response.status, body ? body.detail : null);
      error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
      throw error;
    }
    return body;
  }

  // ------------------------------------------------------------------ filters

  function fundMentions(fund) {
    return (fund.passages || 0) + (fund.footnotes || 0);
  }

  function fundLabel(fund) {
    const name = state.lang === "en" && fund.name_en ? fund.name_en : fund.name || fund.id;
    const squash = (text) => String(text).toLowerCase().replace(/\s+/g, "");
    const acronyms = (fund.acronyms || []).filter((a) => !squash(name).includes(squash(a))).join(", ");
    const label = acronyms ? name + " (" + acronyms + ")" : name;
    return label + " — " + t("mentions", { count: fundMentions(fund) });
  }

  function fillSelect(select, allKey, items, valueOf, labelOf, disabledOf) {
    const current = select.value;
    select.replaceChildren(el("option", { value: "", "data-i18n": allKey }, t(allKey)));
    for (const item of items) {
      // a fund no document mentions would only ever filter everything out
      const disabled = disabledOf ? disabledOf(item) : false;
      select.append(el("option", { value: valueOf(item), disabled: disabled }, labelOf(item)));
    }
    if ([...select.options].some((o) => o.value === current)) select.value = current;
  }

  function renderFilterOptions() {
    fillSelect(
      document.getElementById("fund-filter"),
      "fund_all",
      state.funds,
      (f) => f.id,
      fundLabel,
      (f) => fundMentions(f) === 0,
    );
    fillSelect(
      document.getElementById("document-filter"),
      "document_all",
      state.documents,
      (d) => d.doc_id,
      (d) => d.title || d.doc_id,
    );
  }

  function renderFiltersStatus() {
    const node = document.getElementById("filters-status");
    const message = state.filtersMessage;
    node.textContent = message ? t(message.key, message.vars) : "";
    node.hidden = !message;
  }

  async function loadFilters() {
    state.filtersMessage = { key: "filters_loading" };
    renderFiltersStatus();
    try {
      const [funds, documents] = await Promise.all([api("funds"), api("documents")]);
      state.funds = (funds && funds.funds) || [];
      state.documents = (documents && documents.documents) || [];
      state.filtersMessage = null;
      renderFilterOptions();
    } catch (err) {
      if (err.status === 503) {
        state.filtersMessage = { key: "filters_retry" };
        window.setTimeout(loadFilters, Math.max(2, Math.min(err.retryAfter || 5, 30)) * 1000);
      } else {
        state.filtersMessage = { key: "filters_failed", vars: { error: err.message } };
      }
    }
    renderFiltersStatus();
  }

  // ------------------------------------------------------------------ asking

  function requestBody(question) {
    const body = { question: question };
    const mode = document.querySelector('input[name="mode"]:checked');
    if (mode && mode.value) body.mode = mode.value;
    const topK = Number.parseInt(document.getElementById("top-k").value, 10);
    if (Number.isFinite(topK)) body.top_k = Math.min(20, Math.max(1, topK));
    const filters = {};
    const fund = document.getElementById("fund-filter").value;
    const doc = document.getElementById("document-filter").value;
    if (fund) filters.funds = [fund];
    if (doc) filters.documents = [doc];
    if (Object.keys(filters).length) body.filters = filters;
    return body;
  }

  async function ask(event) {
    if (event) event.preventDefault();
    if (state.loading) return;
    const input = document.getElementById("question");
    const question = input.value.trim();
    if (!question) {
      state.error = { message: t("empty_question"), detail: null };
      state.response = null;
      renderResults(true);
      input.focus();
      return;
    }
    state.loading = true;
    state.error = null;
    renderLoading();
    try {
      state.response = await api("ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(requestBody(question)),
      });
    } catch (err) {
      state.response = null;
      state.error = { message: err.message, detail: err.detail };
    } finally {
      state.loading = false;
    }
    renderResults(true);
  }

  function renderLoading() {
    const results = document.getElementById("results");
    const button = document.getElementById("ask-button");
    results.setAttribute("aria-busy", String(state.loading));
    // aria-disabled rather than disabled: a disabled button would drop the keyboard focus
    button.setAttribute("aria-disabled", String(state.loading));
    button.classList.toggle("is-loading", state.loading);
    if (state.loading) {
      document.getElementById("error").hidden = true;
      document.getElementById("status").replaceChildren(
        el("span", { className: "spinner", "aria-hidden": "true" }),
        t("loading"),
      );
    }
  }

  // ------------------------------------------------------------------ results

  function markerLink(n) {
    return el(
      "a",
      {
        href: "#passage-" + n,
        className: "marker",
        "aria-label": t("marker_label", { n: n }),
        onclick: function (event) {
          event.preventDefault();
          goToPassage(n);
        },
      },
      "[" + n + "]",
    );
  }

  function goToPassage(n) {
    const target = document.getElementById("passage-" + n);
    if (!target) return;
    for (const node of document.querySelectorAll(".passage.is-target")) node.classList.remove("is-target");
    target.classList.add("is-target");
    target.scrollIntoView({ behavior: prefersReducedMotion() ? "auto" : "smooth", block: "start" });
    target.focus({ preventScroll: true });
    if (window.history && window.history.replaceState) window.history.replaceState(null, "", "#passage-" + n);
  }

  /** Text with [n] markers (the generated answer, or the plain answer) as linked markers. */
  function markedText(text, known) {
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of String(text).matchAll(/\[(\d+)\]/g)) {
      const n = Number(match[1]);
      if (!known.has(n)) continue;
      if (match.index > last) fragment.append(text.slice(last, match.index));
      fragment.append(markerLink(n));
      last = match.index + match[0].length;
    }
    if (last < text.length) fragment.append(text.slice(last));
    return fragment;
  }

  function languageOfPassages(response) {
    const first = (response.passages || [])[0];
    return (first && first.language) || "fr";
  }

  function renderAnswer(response, known) {
    const sentences = response.sentences || [];
    const paragraph = el("p", { className: "answer-text", lang: languageOfPassages(response) });
    if (sentences.length) {
      sentences.forEach(function (sentence, index) {
        if (index > 0) paragraph.append(" ");
        paragraph.append(el("span", { className: "sentence" }, linkified(sentence.text || "")));
        for (const n of sentence.markers || []) {
          paragraph.append(" ", markerLink(n));
        }
      });
    } else {
      paragraph.append(markedText(response.answer || "", known));
    }
    const section = el(
      "section",
      { className: "answer card", "aria-labelledby": "answer-heading" },
      el("h2", { id: "answer-heading" }, t("answer_heading")),
      paragraph,
      el("p", { className: "hint" }, t("answer_note")),
    );
    if (response.generated && response.generated.text) {
      section.append(
        el("h3", { className: "generated-heading" }, t("generated_heading")),
        el("p", { className: "generated-text" }, markedText(response.generated.text, known)),
        el("p", { className: "hint" }, t("generated_model", { model: response.generated.model || "?" })),
      );
    }
    return section;
  }

  function renderNoAnswer(response) {
    return el(
      "section",
      { className: "no-answer card", "aria-labelledby": "no-answer-heading" },
      el("h2", { id: "no-answer-heading" }, t("no_answer_heading")),
      el("p", {}, response.message || t("no_answer_default")),
    );
  }

  function renderFootnote(footnote, lang) {
    const linked = new Set();
    const body = el("div", { className: "footnote-body", lang: lang });
    body.append(el("p", {}, linkified(footnote.text || "", linked)));
    const extra = (footnote.urls || []).filter((u) => isWebUrl(u) && !linked.has(u));
    if (extra.length) {
      body.append(el("ul", { className: "links" }, extra.map((u) => el("li", {}, externalLink(u)))));
    }
    return el(
      "details",
      { className: "footnote" },
      el(
        "summary",
        {},
        el("span", { className: "footnote-number" }, t("footnote_n", { n: footnote.number })),
        el("span", { className: "footnote-preview", lang: lang }, preview(footnote.text || "")),
      ),
      body,
    );
  }

  function formatCitation(passage) {
    const c = passage.citation || {};
    const parts = [c.title || c.doc_id];
    const section = sectionParts(c).join(" > ");
    if (section) parts.push(section);
    const page = pageLabel(c, ["citation_page", "citation_pages"]);
    if (page) parts.push(page);
    const lines = ["« " + String(passage.text || "").trim() + " »", parts.join(", ") + "."];
    const notes = (passage.footnotes || []).filter(
      (f) => !(passage.kind === "footnote" && f.text === passage.text),
    );
    if (notes.length) {
      lines.push(t("citation_notes"));
      for (const note of notes) {
        const urls = (note.urls || []).filter((u) => isWebUrl(u) && !note.text.includes(u));
        lines.push("[" + note.number + "] " + note.text + (urls.length ? " " + urls.join(" ") : ""));
      }
    }
    return lines.join("\n");
  }

  function copyWithSelection(text) {
    const area = el("textarea", { className: "copy-buffer", readonly: true, "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (err) {
      ok = false;
    }
    area.remove();
    return ok;
  }

  async function copyCitation(passage, button) {
    const text = formatCitation(passage);
    let ok = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        ok = true;
      } catch (err) {
        ok = false;
      }
    }
    if (!ok) ok = copyWithSelection(text);
    button.focus();
    announce(ok ? t("copied") : t("copy_failed"));
    button.classList.toggle("is-copied", ok);
  }

  function renderPassage(passage) {
    const n = passage.marker;
    const c = passage.citation || {};
    const lang = passage.language || "fr";
    const titleId = "passage-" + n + "-title";
    const linked = new Set();

    const meta = el("p", { className: "meta" });
    if (passage.kind === "footnote") meta.append(el("span", { className: "badge" }, t("kind_footnote")));
    const section = sectionText(c);
    if (section) {
      meta.append(
        el("span", { className: "section" }, el("span", { className: "visually-hidden" }, t("section") + " "), section),
      );
    }
    const page = pageLabel(c, ["page", "pages"]);
    if (page) meta.append(el("span", { className: "page" }, page));

    const article = el(
      "article",
      { className: "passage card kind-" + passage.kind, id: "passage-" + n, tabindex: "-1", "aria-labelledby": titleId },
      el(
        "header",
        { className: "passage-header" },
        el("span", { className: "marker-badge", "aria-hidden": "true" }, "[" + n + "]"),
        el(
          "div",
          {},
          el(
            "h3",
            { id: titleId },
            el("span", { className: "visually-hidden" }, t("source_n", { n: n })),
            el("span", { lang: lang }, c.title || c.doc_id || ""),
          ),
          meta,
        ),
      ),
      el("blockquote", { className: "passage-text", lang: lang }, paragraphs(passage.text || "", linked)),
    );

    for (const ref of passage.cited_by || []) {
      const where = sectionText(ref.citation || {}) || (ref.citation && ref.citation.title) || "";
      const excerpt = String(ref.text || "").trim();
      article.append(
        el(
          "details",
          { className: "cited-by" },
          el("summary", {}, t("cited_from", { section: where })),
          el("p", { lang: lang }, excerpt),
        ),
      );
    }

    const notes = (passage.footnotes || []).filter(
      (f) => !(passage.kind === "footnote" && f.text === passage.text),
    );
    if (notes.length) {
      article.append(
        el(
          "div",
          { className: "footnotes" },
          el("h4", {}, t("footnotes_heading")),
          notes.map((f) => {
            for (const u of f.urls || []) linked.add(u);
            return renderFootnote(f, lang);
          }),
        ),
      );
    }

    const extra = (passage.urls || []).filter((u) => isWebUrl(u) && !linked.has(u));
    if (extra.length) {
      article.append(
        el(
          "div",
          { className: "links-block" },
          el("h4", {}, t("links_heading")),
          el("ul", { className: "links" }, extra.map((u) => el("li", {}, externalLink(u)))),
        ),
      );
    }

    const button = el(
      "button",
      { type: "button", className: "copy", "aria-label": t("copy_button_label", { n: n }) },
      t("copy_button"),
    );
    button.addEventListener("click", function () {
      copyCitation(passage, button);
    });
    article.append(el("div", { className: "actions" }, button));
    return el("li", {}, article);
  }

  function renderPassages(response) {
    const passages = response.passages || [];
    const headingKey = response.answerable ? "passages_heading" : "closest_heading";
    const section = el(
      "section",
      { className: "passages-section", "aria-labelledby": "passages-heading" },
      el("h2", { id: "passages-heading" }, t(headingKey)),
    );
    if (!passages.length) {
      section.append(el("p", {}, t("no_passages")));
      return section;
    }
    section.append(el("ol", { className: "passages" }, passages.map(renderPassage)));
    return section;
  }

  function renderWarnings(response) {
    const warnings = (response.warnings || []).filter(Boolean);
    if (!warnings.length) return null;
    return el(
      "aside",
      { className: "warnings", "aria-labelledby": "warnings-heading" },
      el("h2", { id: "warnings-heading" }, t("warnings_heading")),
      el("ul", {}, warnings.map((w) => el("li", {}, w))),
    );
  }

  function renderError() {
    const box = document.getElementById("error");
    if (!state.error) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    const children = [el("strong", {}, t("error_prefix")), " ", state.error.message];
    const detail = state.error.detail;
    // one detail repeats the summary message; several say which fields are wrong
    if (Array.isArray(detail) && detail.length > 1) {
      children.push(
        el(
          "ul",
          {},
          detail.map((d) =>
            el("li", {}, d && typeof d === "object" ? [d.field, d.message].filter(Boolean).join(" : ") : String(d)),
          ),
        ),
      );
    }
    box.replaceChildren(...children);
    box.hidden = false;
  }

  /** Draw the last response (again after a language switch); ``fresh`` announces it. */
  function renderResults(fresh) {
    renderLoading();
    const status = document.getElementById("status");
    const output = document.getElementById("output");
    if (state.loading) return;
    renderError();
    const response = state.response;
    if (!response) {
      status.replaceChildren();
      output.replaceChildren();
      return;
    }
    const known = new Set((response.passages || []).map((p) => p.marker));
    const parts = [];
    parts.push(response.answerable ? renderAnswer(response, known) : renderNoAnswer(response));
    parts.push(renderWarnings(response));
    parts.push(renderPassages(response));
    output.replaceChildren(...parts.filter(Boolean));
    const count = (response.passages || []).length;
    const summary = t(response.answerable ? "results_ready" : "results_unanswerable", { count: count });
    if (fresh) status.textContent = summary;
    else if (status.textContent) status.textContent = summary;
  }

  // ------------------------------------------------------------------ start

  function onQuestionKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      document.getElementById("ask-form").requestSubmit
        ? document.getElementById("ask-form").requestSubmit()
        : ask(null);
    }
  }

  function start() {
    state.lang = initialLanguage();
    document.getElementById("ask-form").addEventListener("submit", ask);
    document.getElementById("key-form").addEventListener("submit", submitKey);
    document.getElementById("question").addEventListener("keydown", onQuestionKey);
    document.getElementById("lang-toggle").addEventListener("click", function () {
      setLanguage(state.lang === "fr" ? "en" : "fr");
    });
    applyLanguage();
    loadFilters();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
