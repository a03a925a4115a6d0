/*
 * policy-qa web page: ask a question, read the answer and the exact sources.
 *
 * Plain script, no framework and no network access beyond this service, so the page works
 * offline next to the API and under its Content-Security-Policy (no inline script or style:
 * positions are set through the CSSOM, never a style attribute). Every text that comes from
 * the API is inserted with textContent or as a text node (never innerHTML), and links are only
 * made from http(s) URLs.
 */
"use strict";

(function () {
  const STORAGE_KEY = "policyqa.lang";
  /** The API key, when the service asks for one (401): typed once, kept for this tab only. */
  const KEY_STORAGE = "policyqa.apiKey";
  /** The last questions asked, newest first (this browser only). */
  const HISTORY_STORAGE = "policyqa.history";
  const HISTORY_MAX = 10;
  const LANGS = ["fr", "en"];
  /** The API's limit (qa/questions.py); a longer question is refused with a 422. */
  const MAX_QUESTION_CHARS = 2000;
  const DEFAULT_TOP_K = 5;
  /** A 503 with Retry-After is asked again by itself, at most this many times... */
  const AUTO_RETRY_MAX = 3;
  /** ...after Retry-After seconds, bounded to this range. */
  const RETRY_AFTER_MIN_S = 1;
  const RETRY_AFTER_MAX_S = 30;
  const MODES = ["hybrid", "dense", "bm25"];

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
      history_summary: "Questions récentes ({count})",
      history_ask: "Redemander : ",
      history_clear: "Effacer l’historique",
      history_cleared: "Historique effacé.",
      results_heading: "Résultats",
      loading: "Recherche en cours…",
      empty_question: "Écrivez une question avant d’envoyer.",
      results_ready: "Réponse prête : {sources} source(s) et {others} autre(s) passage(s).",
      results_unanswerable: "Pas de réponse dans les documents ; {count} passage(s) proche(s).",
      error_prefix: "Erreur :",
      error_network: "Le service ne répond pas. Vérifiez qu’il est démarré, puis réessayez.",
      error_status: "Le service a répondu par une erreur {status}.",
      error_400: "Le service n’a pas pu lire la demande. Réessayez ; si cela persiste, rechargez la page.",
      error_too_long:
        "La question est trop longue : {max} caractères au plus ({length} envoyés). Raccourcissez-la.",
      error_invalid: "La question n’est pas valide : écrivez-la avec des mots, en {max} caractères au plus.",
      error_feedback_invalid: "L’avis n’a pas été accepté : le commentaire est peut-être trop long.",
      error_401: "Une clé d’accès valide est nécessaire : saisissez-la dans le champ « Clé d’accès ».",
      error_403: "Le service refuse cette opération avec la clé d’accès actuelle.",
      error_413: "La demande est trop volumineuse pour le service.",
      error_429: "Trop de demandes en peu de temps. Patientez un moment, puis réessayez.",
      error_500: "Le service a rencontré une erreur interne. Réessayez ; si l’erreur persiste, signalez-la.",
      error_503: "Le service est momentanément indisponible (démarrage ou surcharge).",
      error_detail: "Détail donné par le service :",
      retry_button: "Réessayer",
      retry_now: "Réessayer maintenant",
      retry_cancel: "Annuler",
      retry_auto: "Nouvel essai automatique dans {seconds} s (essai {attempt} sur {max}).",
      retry_cancelled: "Nouvel essai automatique annulé.",
      answer_heading: "Réponse",
      answer_note: "Phrases extraites des documents ; les numéros renvoient aux sources, surlignées ci-dessous.",
      generated_heading: "Réponse rédigée",
      generated_model: "Rédigée par le modèle {model} à partir des passages cités.",
      funds_label: "Fonds cités :",
      fund_chip_more: " : voir le fonds {name}",
      copy_answer: "Copier la réponse avec ses sources",
      copied_answer: "Réponse et sources copiées",
      no_answer_heading: "Pas de réponse dans les documents",
      no_answer_before: "Les documents indexés ne répondent pas à la question ",
      no_answer_after: ".",
      quote_open: "« ",
      quote_close: " »",
      no_answer_filters: "Filtres actifs : {filters}.",
      no_answer_no_filter: "Aucun filtre n’était actif : la recherche a porté sur tous les documents.",
      filter_fund: "fonds {name}",
      filter_document: "document « {title} »",
      no_answer_clear: "Redemander sans filtre",
      no_answer_hint: "Essayez de reformuler ou de préciser la question.",
      no_answer_closest: "Le passage le plus proche :",
      no_answer_none: "Aucun passage proche n’a été trouvé.",
      sources_heading: "Sources de la réponse ({count})",
      others_heading: "Autres passages pertinents ({count})",
      closest_heading: "Passages les plus proches ({count})",
      no_passages: "Aucun passage trouvé.",
      warnings_heading: "À savoir",
      marker_label: "Voir la source {n}",
      source_n: "Source {n} : ",
      kind_footnote: "Note de bas de page",
      section: "Section :",
      page: "p. {page}",
      pages: "p. {start}–{end}",
      reference: "Référence :",
      date: "Date :",
      original: "Document original",
      footnote_n: "Note {n}",
      footnote_source: "source {n}",
      footnotes_heading: "Notes de bas de page",
      links_heading: "Liens",
      cited_from: "Appel de note dans : {section}",
      new_tab: "(nouvel onglet)",
      copy_button: "Copier la citation",
      copy_button_label: "Copier la citation de la source {n}",
      copied: "Citation copiée",
      copy_failed: "La copie a échoué ; sélectionnez le texte et copiez-le à la main.",
      citation_page: "p. {page}",
      citation_pages: "p. {start}-{end}",
      citation_section: "section {section}",
      citation_note: "note {n}",
      citation_notes: "Notes :",
      citation_sources: "Sources :",
      preview_go: "Entrée ou clic : aller à la source.",
      feedback_legend: "Cette réponse vous a-t-elle aidé ?",
      feedback_up: "Utile",
      feedback_down: "Pas utile",
      feedback_comment: "Commentaire (facultatif)",
      feedback_send: "Envoyer l’avis",
      feedback_sending: "Envoi de l’avis…",
      feedback_choose: "Choisissez « Utile » ou « Pas utile » avant d’envoyer.",
      feedback_thanks: "Merci ! Votre avis a été enregistré.",
      fund_dialog_close: "Fermer",
      fund_loading: "Chargement du fonds…",
      fund_counts: "Mentionné dans {passages} passage(s) et {footnotes} note(s) de bas de page.",
      fund_acronyms: "Sigles et autres noms : {names}",
      fund_detail_period: "Période",
      fund_detail_successor_of: "Succède à",
      fund_passages: "Passages qui le mentionnent ({count})",
      fund_footnotes: "Notes de bas de page qui le mentionnent ({count})",
      fund_more: "… et {count} autre(s).",
      footer_text:
        "Sources : documents de la Commission européenne (© Union européenne, réutilisation autorisée moyennant mention de la source).",
      footer_api: "Documentation de l’API",
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
      history_summary: "Recent questions ({count})",
      history_ask: "Ask again: ",
      history_clear: "Clear history",
      history_cleared: "History cleared.",
      results_heading: "Results",
      loading: "Searching…",
      empty_question: "Write a question before sending.",
      results_ready: "Answer ready: {sources} source(s) and {others} other passage(s).",
      results_unanswerable: "No answer in the documents; {count} close passage(s).",
      error_prefix: "Error:",
      error_network: "The service does not answer. Check that it is running, then try again.",
      error_status: "The service answered with an error {status}.",
      error_400: "The service could not read the request. Try again; if it persists, reload the page.",
      error_too_long: "The question is too long: at most {max} characters ({length} sent). Shorten it.",
      error_invalid: "The question is not valid: write it with words, in at most {max} characters.",
      error_feedback_invalid: "The feedback was not accepted: the comment may be too long.",
      error_401: "A valid access key is needed: type it in the “Access key” field.",
      error_403: "The service refuses this operation with the current access key.",
      error_413: "The request is too large for the service.",
      error_429: "Too many requests in a short time. Wait a moment, then try again.",
      error_500: "The service hit an internal error. Try again; if the error persists, report it.",
      error_503: "The service is temporarily unavailable (starting up or overloaded).",
      error_detail: "Detail given by the service:",
      retry_button: "Try again",
      retry_now: "Try again now",
      retry_cancel: "Cancel",
      retry_auto: "Trying again automatically in {seconds} s (attempt {attempt} of {max}).",
      retry_cancelled: "Automatic retry cancelled.",
      answer_heading: "Answer",
      answer_note: "Sentences taken from the documents; the numbers point to the sources, highlighted below.",
      generated_heading: "Written answer",
      generated_model: "Written by the model {model} from the cited passages.",
      funds_label: "Funds named:",
      fund_chip_more: ": see the fund {name}",
      copy_answer: "Copy the answer with its sources",
      copied_answer: "Answer and sources copied",
      no_answer_heading: "No answer in the documents",
      no_answer_before: "The indexed documents do not answer the question ",
      no_answer_after: ".",
      quote_open: "“",
      quote_close: "”",
      no_answer_filters: "Active filters: {filters}.",
      no_answer_no_filter: "No filter was active: all the documents were searched.",
      filter_fund: "fund {name}",
      filter_document: "document “{title}”",
      no_answer_clear: "Ask again without filters",
      no_answer_hint: "Try rephrasing the question or making it more precise.",
      no_answer_closest: "The closest passage:",
      no_answer_none: "No close passage was found.",
      sources_heading: "Sources of the answer ({count})",
      others_heading: "Other relevant passages ({count})",
      closest_heading: "Closest passages ({count})",
      no_passages: "No passage found.",
      warnings_heading: "Good to know",
      marker_label: "Go to source {n}",
      source_n: "Source {n}: ",
      kind_footnote: "Footnote",
      section: "Section:",
      page: "p. {page}",
      pages: "pp. {start}–{end}",
      reference: "Reference:",
      date: "Date:",
      original: "Original document",
      footnote_n: "Note {n}",
      footnote_source: "source {n}",
      footnotes_heading: "Footnotes",
      links_heading: "Links",
      cited_from: "Referenced in: {section}",
      new_tab: "(new tab)",
      copy_button: "Copy citation",
      copy_button_label: "Copy the citation of source {n}",
      copied: "Citation copied",
      copy_failed: "Copying failed; select the text and copy it by hand.",
      citation_page: "p. {page}",
      citation_pages: "pp. {start}-{end}",
      citation_section: "section {section}",
      citation_note: "note {n}",
      citation_notes: "Notes:",
      citation_sources: "Sources:",
      preview_go: "Enter or click: go to the source.",
      feedback_legend: "Was this answer helpful?",
      feedback_up: "Helpful",
      feedback_down: "Not helpful",
      feedback_comment: "Comment (optional)",
      feedback_send: "Send feedback",
      feedback_sending: "Sending the feedback…",
      feedback_choose: "Choose “Helpful” or “Not helpful” before sending.",
      feedback_thanks: "Thank you! Your feedback was saved.",
      fund_dialog_close: "Close",
      fund_loading: "Loading the fund…",
      fund_counts: "Named in {passages} passage(s) and {footnotes} footnote(s).",
      fund_acronyms: "Acronyms and other names: {names}",
      fund_detail_period: "Period",
      fund_detail_successor_of: "Successor of",
      fund_passages: "Passages naming it ({count})",
      fund_footnotes: "Footnotes naming it ({count})",
      fund_more: "… and {count} more.",
      footer_text:
        "Sources: documents of the European Commission (© European Union, reuse authorised provided the source is acknowledged).",
      footer_api: "API documentation",
    },
  };

  const state = {
    lang: "fr",
    funds: [],
    documents: [],
    /** Filters named in the address before the lists are loaded: applied once they are. */
    pendingFilters: null,
    /** The request of the response shown (or of the error): what a retry asks again. */
    request: null,
    response: null,
    error: null,
    loading: false,
    filtersMessage: null,
    apiKey: "",
    /** Move focus to the result once drawn (after a question, not after a language switch). */
    focusResult: false,
    autoRetry: null,
    feedback: null,
    fundDialog: null,
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

  const byId = (id) => document.getElementById(id);

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

  function externalLink(url, label, className) {
    return el(
      "a",
      { href: url, target: "_blank", rel: "noopener noreferrer", className: className || "external" },
      label || url,
      el("span", { className: "visually-hidden" }, " " + t("new_tab")),
    );
  }

  /** Text with its web addresses turned into links; adds the URLs it linked to ``found``. */
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

  /** ``text[start:end]`` with the parts inside ``ranges`` in <mark> (built node by node). */
  function markedText(text, start, end, ranges, found) {
    const fragment = document.createDocumentFragment();
    // found === false: plain text, no links (inside a tooltip)
    const asText = (part) => (found === false ? document.createTextNode(part) : linkified(part, found));
    let pos = start;
    const cuts = (ranges || []).filter((r) => r.end > start && r.start < end).sort((a, b) => a.start - b.start);
    for (const range of cuts) {
      const from = Math.max(range.start, pos);
      const to = Math.min(range.end, end);
      if (from >= to) continue;
      if (from > pos) fragment.append(asText(text.slice(pos, from)));
      fragment.append(el("mark", { className: "hl" }, asText(text.slice(from, to))));
      pos = to;
    }
    if (pos < end) fragment.append(asText(text.slice(pos, end)));
    return fragment;
  }

  /** Blank lines of a passage as paragraphs (single line breaks are kept by CSS), with the
   * answer's sentences highlighted: ``ranges`` are character offsets in ``text``. */
  function paragraphs(text, found, ranges) {
    const source = String(text);
    const out = [];
    let pos = 0;
    const bounds = [];
    for (const match of source.matchAll(/\n\s*\n/g)) {
      bounds.push([pos, match.index]);
      pos = match.index + match[0].length;
    }
    bounds.push([pos, source.length]);
    for (let [start, end] of bounds) {
      while (start < end && /\s/.test(source[start])) start++;
      while (end > start && /\s/.test(source[end - 1])) end--;
      if (start < end) out.push(el("p", {}, markedText(source, start, end, ranges, found)));
    }
    return out;
  }

  /** The start of a text, so that a closed footnote still says what it is about. */
  function preview(text, size) {
    const max = size || 90;
    const flat = String(text).replace(/\s+/g, " ").trim();
    return flat.length > max ? flat.slice(0, max - 1).replace(/\s+\S*$/, "") + "…" : flat;
  }

  function squash(text) {
    return String(text || "").replace(/\s+/g, " ").trim();
  }

  /** Where ``needle`` is in ``text``, spaces compared loosely; null when it is not there. */
  function findText(text, needle) {
    const wanted = squash(needle);
    if (!wanted) return null;
    const exact = text.indexOf(needle);
    if (exact >= 0) return { start: exact, end: exact + needle.length };
    const map = [];
    let flat = "";
    for (let i = 0; i < text.length; i++) {
      if (/\s/.test(text[i])) {
        if (!flat || flat.endsWith(" ")) continue;
        flat += " ";
      } else {
        flat += text[i];
      }
      map.push(i);
    }
    const at = flat.indexOf(wanted);
    if (at < 0) return null;
    return { start: map[at], end: map[at + wanted.length - 1] + 1 };
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

  /** "2020-11-24" as "24 novembre 2020" (or "24 November 2020"); other text as it is. */
  function formatDate(value) {
    if (!value) return "";
    const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(String(value));
    if (!match) return String(value);
    const [year, month, day] = [Number(match[1]), match[2] ? Number(match[2]) : null, match[3] ? Number(match[3]) : null];
    const options = { year: "numeric", timeZone: "UTC" };
    if (month) options.month = "long";
    if (day) options.day = "numeric";
    try {
      const date = new Date(Date.UTC(year, (month || 1) - 1, day || 1));
      return new Intl.DateTimeFormat(state.lang === "en" ? "en-GB" : "fr-FR", options).format(date);
    } catch (err) {
      return String(value);
    }
  }

  function prefersReducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function announce(message) {
    const region = byId("announcer");
    region.textContent = "";
    // a fresh text node a moment later makes screen readers repeat an identical message
    window.setTimeout(function () {
      region.textContent = message;
    }, 50);
  }

  /** Redraw with ``draw`` and give the focus back to the element of the same id, if any. */
  function keepingFocus(draw) {
    const active = document.activeElement;
    const id = active && active.id && active !== document.body ? active.id : null;
    draw();
    if (id && document.activeElement !== byId(id) && byId(id)) byId(id).focus({ preventScroll: true });
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
    const toggle = byId("lang-toggle");
    const other = state.lang === "fr" ? "en" : "fr";
    toggle.textContent = t("lang_toggle");
    toggle.setAttribute("lang", other);
    toggle.setAttribute("aria-label", t("lang_toggle_label"));
    toggle.setAttribute("title", t("lang_toggle_label"));
    renderFilterOptions();
    renderFiltersStatus();
    renderHistory();
    keepingFocus(function () {
      renderResults();
      renderFundDialog();
    });
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
      this.retryAfter = 0;
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
    const form = byId("key-form");
    const hint = byId("key-hint");
    hint.textContent = wrongKey ? t("key_wrong") : t("key_hint");
    form.hidden = false;
    byId("api-key").focus();
  }

  function submitKey(event) {
    event.preventDefault();
    const input = byId("api-key");
    const key = input.value.trim();
    if (!key) {
      input.focus();
      return;
    }
    storeKey(key);
    input.value = "";
    byId("key-form").hidden = true;
    const retryAsk = state.error && state.error.status === 401 && state.request;
    state.error = null;
    renderResults();
    loadFilters();
    if (retryAsk) runAsk(state.request, 0);
  }

  /** The JSON of ``path``; an ApiError (status 0: no answer) with the API's own message. */
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
      throw new ApiError("", 0, null);
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
            : "";
      const error = new ApiError(message, response.status, body ? body.detail : null);
      error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
      throw error;
    }
    return body;
  }

  /** An error as the page shows it: a message of the interface (key and values, so that it
   * follows a language switch), the API's own words as a detail, and whether to offer a retry. */
  function describeError(err, context) {
    const status = err.status || 0;
    const info = { status: status, key: "error_status", vars: { status: status }, api: err.message || "" };
    info.detail = err.detail;
    info.retryable = status === 0 || status === 429 || status >= 500;
    if (status === 0) info.key = "error_network";
    else if (status === 400) {
      info.key = "error_400";
      info.retryable = true;
    } else if (status === 422) {
      const length = context && context.question ? context.question.length : 0;
      if (context && context.kind === "feedback") info.key = "error_feedback_invalid";
      else if (length > MAX_QUESTION_CHARS) {
        info.key = "error_too_long";
        info.vars = { max: MAX_QUESTION_CHARS, length: length };
      } else {
        info.key = "error_invalid";
        info.vars = { max: MAX_QUESTION_CHARS };
      }
    } else if ([401, 403, 413, 429, 500, 503].includes(status)) info.key = "error_" + status;
    return info;
  }

  /** The children of an error box: message, the API's detail, a retry (and its countdown). */
  function errorContent(error, onRetry, idPrefix) {
    const vars = Object.assign({}, error.vars);
    for (const name of ["max", "length"]) {
      // thousands as the interface writes them: 2 000, 2,000
      if (typeof vars[name] === "number") vars[name] = new Intl.NumberFormat(state.lang === "en" ? "en-GB" : "fr-FR").format(vars[name]);
    }
    const children = [el("strong", {}, t("error_prefix")), " ", el("span", { className: "error-message" }, t(error.key, vars))];
    if (error.api) {
      // the API writes its messages in English
      children.push(
        el("span", { className: "error-api" }, " ", t("error_detail"), " ", el("span", { lang: "en" }, error.api)),
      );
    }
    const detail = error.detail;
    // one detail repeats the summary message; several say which fields are wrong
    if (Array.isArray(detail) && detail.length > 1) {
      children.push(
        el(
          "ul",
          { lang: "en" },
          detail.map((d) =>
            el("li", {}, d && typeof d === "object" ? [d.field, d.message].filter(Boolean).join(" : ") : String(d)),
          ),
        ),
      );
    }
    const auto = error.auto;
    if (auto) {
      children.push(
        el(
          "p",
          { className: "retry-auto" },
          el("span", { className: "visually-hidden" }, t("retry_auto", { seconds: auto.seconds, attempt: auto.attempt, max: AUTO_RETRY_MAX })),
          el(
            "span",
            { "aria-hidden": "true", className: "retry-countdown" },
            t("retry_auto", { seconds: autoRetryLeft(), attempt: auto.attempt, max: AUTO_RETRY_MAX }),
          ),
        ),
      );
    }
    if (error.retryable && onRetry) {
      const actions = el("p", { className: "error-actions" });
      actions.append(
        el(
          "button",
          { type: "button", className: "secondary retry", id: idPrefix + "-retry", onclick: onRetry },
          t(auto ? "retry_now" : "retry_button"),
        ),
      );
      if (auto) {
        actions.append(
          " ",
          el(
            "button",
            { type: "button", className: "secondary", id: idPrefix + "-retry-cancel", onclick: cancelAutoRetry },
            t("retry_cancel"),
          ),
        );
      }
      children.push(actions);
    }
    return children;
  }

  // ------------------------------------------------------------------ filters

  function fundMentions(fund) {
    return (fund.passages || 0) + (fund.footnotes || 0);
  }

  function fundName(fund) {
    return state.lang === "en" && fund.name_en ? fund.name_en : fund.name || fund.id;
  }

  function fundLabel(fund) {
    const name = fundName(fund);
    const flat = (text) => String(text).toLowerCase().replace(/\s+/g, "");
    const acronyms = (fund.acronyms || []).filter((a) => !flat(name).includes(flat(a))).join(", ");
    const label = acronyms ? name + " (" + acronyms + ")" : name;
    return label + " — " + t("mentions", { count: fundMentions(fund) });
  }

  function fillSelect(select, allKey, items, valueOf, labelOf, disabledOf, wanted) {
    const current = wanted || select.value;
    select.replaceChildren(el("option", { value: "", "data-i18n": allKey }, t(allKey)));
    for (const item of items) {
      // a fund no document mentions would only ever filter everything out
      const disabled = disabledOf ? disabledOf(item) : false;
      select.append(el("option", { value: valueOf(item), disabled: disabled }, labelOf(item)));
    }
    if ([...select.options].some((o) => o.value === current)) select.value = current;
  }

  function renderFilterOptions() {
    const pending = state.pendingFilters || {};
    fillSelect(
      byId("fund-filter"),
      "fund_all",
      state.funds,
      (f) => f.id,
      fundLabel,
      (f) => fundMentions(f) === 0,
      state.funds.length ? pending.fund : null,
    );
    fillSelect(
      byId("document-filter"),
      "document_all",
      state.documents,
      (d) => d.doc_id,
      (d) => d.title || d.doc_id,
      null,
      state.documents.length ? pending.document : null,
    );
    if (state.funds.length && state.documents.length) state.pendingFilters = null;
  }

  function renderFiltersStatus() {
    const node = byId("filters-status");
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
      renderHistory(); // filters named by their names
      // a no-answer names its filters: by their names once these are known
      if (state.response && !state.response.answerable && state.request && filtersOf(state.request)) {
        keepingFocus(renderResults);
      }
    } catch (err) {
      if (err.status === 503) {
        state.filtersMessage = { key: "filters_retry" };
        window.setTimeout(loadFilters, Math.max(2, Math.min(err.retryAfter || 5, 30)) * 1000);
      } else {
        const info = describeError(err);
        state.filtersMessage = { key: "filters_failed", vars: { error: t(info.key, info.vars) } };
      }
    }
    renderFiltersStatus();
  }

  function fundById(id) {
    return state.funds.find((f) => f.id === id) || null;
  }

  function documentById(id) {
    return state.documents.find((d) => d.doc_id === id) || null;
  }

  // ------------------------------------------------------------------ requests, address, history

  /** What the form asks: question, mode, passages and filters (the defaults left out). */
  function requestFromForm() {
    const request = { question: byId("question").value.trim() };
    const mode = document.querySelector('input[name="mode"]:checked');
    if (mode && mode.value) request.mode = mode.value;
    const topK = Number.parseInt(byId("top-k").value, 10);
    if (Number.isFinite(topK) && topK !== DEFAULT_TOP_K) request.top_k = Math.min(20, Math.max(1, topK));
    const pending = state.pendingFilters || {};
    const fund = byId("fund-filter").value || pending.fund;
    const doc = byId("document-filter").value || pending.document;
    if (fund) request.fund = fund;
    if (doc) request.document = doc;
    return request;
  }

  function applyRequestToForm(request) {
    byId("question").value = request.question || "";
    const mode = MODES.includes(request.mode) ? request.mode : "";
    const radio = document.querySelector('input[name="mode"][value="' + mode + '"]');
    if (radio) radio.checked = true;
    byId("top-k").value = String(request.top_k || DEFAULT_TOP_K);
    if (mode || (request.top_k && request.top_k !== DEFAULT_TOP_K)) byId("advanced").open = true;
    const fundSelect = byId("fund-filter");
    const docSelect = byId("document-filter");
    state.pendingFilters = null;
    fundSelect.value = request.fund || "";
    docSelect.value = request.document || "";
    // not loaded yet: remembered, and chosen once the lists arrive
    if ((request.fund && fundSelect.value !== request.fund) || (request.document && docSelect.value !== request.document)) {
      state.pendingFilters = { fund: request.fund, document: request.document };
    }
  }

  function filtersOf(request) {
    const filters = {};
    if (request.fund) filters.funds = [request.fund];
    if (request.document) filters.documents = [request.document];
    return Object.keys(filters).length ? filters : null;
  }

  function apiBody(request) {
    const body = { question: request.question };
    if (request.mode) body.mode = request.mode;
    if (request.top_k) body.top_k = request.top_k;
    const filters = filtersOf(request);
    if (filters) body.filters = filters;
    return body;
  }

  /** ``?q=…&mode=…&top_k=…&fund=…&document=…``: the address of a question, to share or reload. */
  function searchOf(request) {
    const params = new URLSearchParams();
    params.set("q", request.question);
    for (const name of ["mode", "top_k", "fund", "document"]) {
      if (request[name]) params.set(name, String(request[name]));
    }
    return "?" + params.toString();
  }

  function requestFromSearch(search) {
    const params = new URLSearchParams(search);
    const question = (params.get("q") || "").trim();
    if (!question) return null;
    const request = { question: question };
    const mode = params.get("mode");
    if (MODES.includes(mode)) request.mode = mode;
    const topK = Number.parseInt(params.get("top_k") || "", 10);
    if (Number.isFinite(topK) && topK >= 1 && topK <= 20 && topK !== DEFAULT_TOP_K) request.top_k = topK;
    if (params.get("fund")) request.fund = params.get("fund");
    if (params.get("document")) request.document = params.get("document");
    return request;
  }

  function showInAddress(request) {
    if (!window.history || !window.history.pushState) return;
    const search = searchOf(request);
    if (window.location.search === search) return;
    window.history.pushState({ request: request }, "", search);
  }

  function readHistory() {
    try {
      const items = JSON.parse(window.localStorage.getItem(HISTORY_STORAGE) || "[]");
      if (!Array.isArray(items)) return [];
      return items.filter((r) => r && typeof r.question === "string" && r.question).slice(0, HISTORY_MAX);
    } catch (err) {
      return [];
    }
  }

  function writeHistory(items) {
    try {
      if (items.length) window.localStorage.setItem(HISTORY_STORAGE, JSON.stringify(items));
      else window.localStorage.removeItem(HISTORY_STORAGE);
    } catch (err) {
      // storage disabled: no history
    }
  }

  function remember(request) {
    const search = searchOf(request);
    const items = readHistory().filter((r) => searchOf(r) !== search);
    items.unshift(request);
    writeHistory(items.slice(0, HISTORY_MAX));
    renderHistory();
  }

  function renderHistory() {
    const box = byId("history");
    if (!box) return;
    const items = readHistory();
    const list = byId("history-list");
    byId("history-summary").textContent = t("history_summary", { count: items.length });
    byId("history-clear").textContent = t("history_clear");
    list.replaceChildren(
      ...items.map(function (request, index) {
        const details = activeFilterNames(request);
        return el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              className: "history-item",
              id: "history-item-" + index,
              onclick: function () {
                applyRequestToForm(request);
                startAsk(request);
              },
            },
            el("span", { className: "visually-hidden" }, t("history_ask")),
            request.question,
            details.length ? el("span", { className: "history-filters" }, " — " + details.join(", ")) : null,
          ),
        );
      }),
    );
    box.hidden = !items.length;
  }

  function clearHistory() {
    writeHistory([]);
    renderHistory();
    byId("question").focus();
    announce(t("history_cleared"));
  }

  // ------------------------------------------------------------------ asking

  function ask(event) {
    if (event) event.preventDefault();
    if (state.loading) return;
    const request = requestFromForm();
    if (!request.question) {
      cancelAutoRetry(true);
      state.error = { key: "empty_question", vars: null, retryable: false };
      state.response = null;
      renderResults();
      byId("question").focus();
      return;
    }
    startAsk(request);
  }

  function startAsk(request) {
    if (state.loading) return;
    showInAddress(request);
    runAsk(request, 0);
  }

  async function runAsk(request, attempt) {
    cancelAutoRetry(true);
    state.loading = true;
    state.request = request;
    state.error = null;
    hidePreview();
    renderLoading();
    try {
      const response = await api("ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(apiBody(request)),
      });
      state.response = response;
      state.feedback = { rating: null, comment: "", status: "idle", error: null };
      remember(request);
    } catch (err) {
      state.response = null;
      state.error = describeError(err, { kind: "ask", question: request.question });
      if (err.status === 503 && err.retryAfter > 0 && attempt < AUTO_RETRY_MAX) {
        scheduleAutoRetry(request, attempt + 1, err.retryAfter);
      }
    } finally {
      state.loading = false;
    }
    state.focusResult = true;
    renderResults();
    if (state.error) announce(t(state.error.key, state.error.vars));
  }

  function scheduleAutoRetry(request, attempt, retryAfter) {
    const seconds = Math.round(Math.min(RETRY_AFTER_MAX_S, Math.max(RETRY_AFTER_MIN_S, retryAfter)));
    const auto = { seconds: seconds, attempt: attempt, due: Date.now() + seconds * 1000 };
    auto.timer = window.setTimeout(function () {
      state.autoRetry = null;
      runAsk(request, attempt);
    }, seconds * 1000);
    auto.ticker = window.setInterval(function () {
      for (const node of document.querySelectorAll(".retry-countdown")) {
        node.textContent = t("retry_auto", { seconds: autoRetryLeft(), attempt: attempt, max: AUTO_RETRY_MAX });
      }
    }, 1000);
    state.autoRetry = auto;
    state.error.auto = auto;
  }

  function autoRetryLeft() {
    const auto = state.autoRetry;
    return auto ? Math.max(0, Math.ceil((auto.due - Date.now()) / 1000)) : 0;
  }

  function cancelAutoRetry(quiet) {
    const auto = state.autoRetry;
    if (!auto) return;
    window.clearTimeout(auto.timer);
    window.clearInterval(auto.ticker);
    state.autoRetry = null;
    if (state.error) state.error.auto = null;
    if (quiet !== true) {
      keepingFocus(renderResults);
      const retry = byId("error-retry");
      if (retry) retry.focus();
      announce(t("retry_cancelled"));
    }
  }

  function retryAsk() {
    if (state.request) runAsk(state.request, 0);
  }

  function renderLoading() {
    const results = byId("results");
    const button = byId("ask-button");
    results.setAttribute("aria-busy", String(state.loading));
    // aria-disabled rather than disabled: a disabled button would drop the keyboard focus
    button.setAttribute("aria-disabled", String(state.loading));
    button.classList.toggle("is-loading", state.loading);
    if (state.loading) {
      byId("error").hidden = true;
      byId("status").replaceChildren(el("span", { className: "spinner", "aria-hidden": "true" }), t("loading"));
    }
  }

  // ------------------------------------------------------------------ what a response cites

  /** The markers an answer cites, in the order of the passages. */
  function citedMarkers(response) {
    const cited = new Set();
    if (!response.answerable) return cited;
    for (const sentence of response.sentences || []) for (const n of sentence.markers || []) cited.add(n);
    if (!cited.size && response.answer) {
      for (const match of String(response.answer).matchAll(/\[(\d+)\]/g)) cited.add(Number(match[1]));
    }
    if (response.generated) for (const n of response.generated.markers || []) cited.add(n);
    return cited;
  }

  /** A footnote returned as its own passage, and also held by the passage that calls it, is
   * shown once, in that passage: marker of the footnote passage -> {host, number}. */
  function footnoteHosts(passages) {
    const hosts = new Map();
    for (const note of passages) {
      if (note.kind !== "footnote") continue;
      const doc = (note.citation || {}).doc_id;
      const own = (note.footnotes || []).find((f) => squash(f.text) === squash(note.text));
      for (const host of passages) {
        if (host === note || host.kind === "footnote" || (host.citation || {}).doc_id !== doc) continue;
        const match = (host.footnotes || []).find(
          (f) => squash(f.text) === squash(note.text) && (!own || f.number === own.number),
        );
        if (match) {
          hosts.set(note.marker, { host: host, number: match.number });
          break;
        }
      }
    }
    return hosts;
  }

  /** Everything the drawing needs to know about a response, computed once. */
  function analyse(response) {
    const passages = response.passages || [];
    const byMarker = new Map(passages.map((p) => [p.marker, p]));
    const hosts = footnoteHosts(passages);
    const shownAs = (n) => (hosts.has(n) ? hosts.get(n).host.marker : n);
    const cited = citedMarkers(response);
    const sourceCards = new Set([...cited].filter((n) => byMarker.has(n)).map(shownAs));
    // the answer's sentences in their passages: marker -> [{start, end, sentence}]
    const highlights = new Map();
    (response.sentences || []).forEach(function (sentence, index) {
      (sentence.markers || []).forEach(function (n, position) {
        const passage = byMarker.get(n);
        if (!passage) return;
        const text = String(passage.text || "");
        let range = null;
        const { start, end } = sentence;
        if (position === 0 && Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= text.length) {
          range = { start: start, end: end };
        } else {
          range = findText(text, sentence.text || "");
        }
        if (!range) return;
        range.sentence = index;
        if (!highlights.has(n)) highlights.set(n, []);
        highlights.get(n).push(range);
      });
    });
    return { passages, byMarker, hosts, cited, sourceCards, highlights, shownAs };
  }

  // ------------------------------------------------------------------ markers and their preview

  function markerLink(n, info) {
    const known = info.byMarker.has(n);
    return el(
      "a",
      {
        href: "#passage-" + n,
        className: "marker",
        "data-marker": n,
        "aria-label": t("marker_label", { n: n }),
        "aria-describedby": known ? "preview-" + n : null,
        onclick: function (event) {
          event.preventDefault();
          hidePreview();
          goToPassage(n);
        },
        onmouseenter: function (event) {
          showPreview(event.currentTarget);
        },
        onmouseleave: schedulePreviewHide,
        onfocus: function (event) {
          showPreview(event.currentTarget);
        },
        onblur: hidePreview,
      },
      "[" + n + "]",
    );
  }

  /** The tooltip of marker ``n``: the source's title, where it is, and the sentence in it. */
  function renderPreview(passage, info) {
    const n = passage.marker;
    const c = passage.citation || {};
    const lang = passage.language || "fr";
    const where = [sectionText(c), pageLabel(c, ["page", "pages"])].filter(Boolean).join(" · ");
    const text = String(passage.text || "");
    const ranges = info.highlights.get(n) || [];
    let excerpt;
    if (ranges.length) {
      const range = ranges[0];
      const from = Math.max(0, range.start - 80);
      const to = Math.min(text.length, range.end + 80);
      excerpt = [
        from > 0 ? "…" : "",
        markedText(text, from, to, [range], false),
        to < text.length ? "…" : "",
      ];
    } else {
      excerpt = [preview(text, 240)];
    }
    const tip = el(
      "div",
      {
        className: "preview",
        id: "preview-" + n,
        role: "tooltip",
        hidden: true,
        onmouseenter: keepPreview,
        onmouseleave: schedulePreviewHide,
      },
      el(
        "p",
        { className: "preview-title" },
        el("span", { className: "preview-badge" }, "[" + n + "]"),
        " ",
        el("span", { lang: lang }, c.title || c.doc_id || ""),
      ),
      where ? el("p", { className: "preview-meta" }, where) : null,
      el("p", { className: "preview-text", lang: lang }, excerpt),
      el("p", { className: "preview-hint" }, t("preview_go")),
    );
    return tip;
  }

  let openPreview = null;
  let previewHideTimer = null;

  function keepPreview() {
    window.clearTimeout(previewHideTimer);
  }

  function showPreview(marker) {
    keepPreview();
    const tip = byId("preview-" + marker.dataset.marker);
    if (!tip) return;
    if (openPreview && openPreview.tip !== tip) hidePreview();
    tip.hidden = false;
    openPreview = { marker: marker, tip: tip };
    // below the marker, or above it when the window has no room left underneath
    const rect = marker.getBoundingClientRect();
    const width = tip.offsetWidth;
    const height = tip.offsetHeight;
    const viewport = document.documentElement.clientWidth;
    const left = Math.max(8, Math.min(rect.left, viewport - width - 8));
    let top = rect.bottom + 6;
    if (top + height > window.innerHeight && rect.top - height - 6 > 0) top = rect.top - height - 6;
    tip.style.left = Math.round(left + window.scrollX) + "px";
    tip.style.top = Math.round(top + window.scrollY) + "px";
  }

  function hidePreview() {
    keepPreview();
    if (!openPreview) return;
    openPreview.tip.hidden = true;
    openPreview = null;
  }

  /** A moment before hiding, so that the pointer can move from the marker onto the tooltip. */
  function schedulePreviewHide() {
    keepPreview();
    previewHideTimer = window.setTimeout(function () {
      if (openPreview && openPreview.marker === document.activeElement) return;
      hidePreview();
    }, 300);
  }

  function goToPassage(n) {
    const target = byId("passage-" + n);
    if (!target) return;
    for (const node of document.querySelectorAll(".is-target")) node.classList.remove("is-target");
    if (target.tagName === "DETAILS") target.open = true;
    target.classList.add("is-target");
    target.scrollIntoView({ behavior: prefersReducedMotion() ? "auto" : "smooth", block: "start" });
    target.focus({ preventScroll: true });
    if (window.history && window.history.replaceState) {
      window.history.replaceState(window.history.state, "", window.location.search + "#passage-" + n);
    }
  }

  /** Text with [n] markers (the generated answer, or the plain answer) as linked markers. */
  function textWithMarkers(text, info) {
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of String(text).matchAll(/\[(\d+)\]/g)) {
      const n = Number(match[1]);
      if (!info.byMarker.has(n)) continue;
      if (match.index > last) fragment.append(text.slice(last, match.index));
      fragment.append(markerLink(n, info));
      last = match.index + match[0].length;
    }
    if (last < text.length) fragment.append(text.slice(last));
    return fragment;
  }

  // ------------------------------------------------------------------ citations

  /** Commission européenne, « Title », COM(2020) 758 final, 24 novembre 2020, section …, p. 12, URL */
  function citationLine(passage) {
    const c = passage.citation || {};
    const parts = [];
    if (c.publisher) parts.push(c.publisher);
    parts.push(t("quote_open") + (c.title || c.doc_id || "") + t("quote_close"));
    if (c.reference) parts.push(c.reference);
    if (c.date) parts.push(formatDate(c.date));
    let sections = sectionParts(c);
    let note = null;
    if (passage.kind === "footnote") {
      // a footnote's path ends with "Note 31": cited as "note 31"
      const last = /^note\s+(\d+)$/i.exec(sections[sections.length - 1] || "");
      const own = (passage.footnotes || []).find((f) => squash(f.text) === squash(passage.text));
      if (last) sections = sections.slice(0, -1);
      note = last ? last[1] : own ? own.number : null;
    }
    if (sections.length) parts.push(t("citation_section", { section: sections.join(" > ") }));
    if (note) parts.push(t("citation_note", { n: note }));
    const page = pageLabel(c, ["citation_page", "citation_pages"]);
    if (page) parts.push(page);
    if (isWebUrl(c.source_url)) parts.push(c.source_url);
    return parts.join(", ");
  }

  /** A citation ends with a full stop, unless with an address (the stop would stick to it). */
  function endSentence(line) {
    return /https?:\/\/\S+$/.test(line) ? line : line + ".";
  }

  function ownNotes(passage) {
    return (passage.footnotes || []).filter((f) => !(passage.kind === "footnote" && squash(f.text) === squash(passage.text)));
  }

  /** One source: its text in quotes, its citation, and its notes. */
  function formatSource(passage) {
    const lines = [t("quote_open") + String(passage.text || "").trim() + t("quote_close"), endSentence(citationLine(passage))];
    const notes = ownNotes(passage);
    if (notes.length) {
      lines.push(t("citation_notes"));
      for (const note of notes) {
        const urls = (note.urls || []).filter((u) => isWebUrl(u) && !note.text.includes(u));
        lines.push("[" + note.number + "] " + note.text + (urls.length ? " " + urls.join(" ") : ""));
      }
    }
    return lines.join("\n");
  }

  /** The answer as shown, then each source it cites as a citation. */
  function formatAnswer(response, info) {
    const lines = [String(response.answer || "").trim()];
    if (response.generated && response.generated.text) lines.push("", String(response.generated.text).trim());
    const cited = [...info.cited].filter((n) => info.byMarker.has(n)).sort((a, b) => a - b);
    if (cited.length) {
      lines.push("", t("citation_sources"));
      for (const n of cited) {
        const passage = info.byMarker.get(n);
        lines.push("[" + n + "] " + endSentence(citationLine(passage)));
      }
    }
    return lines.join("\n");
  }

  function copyWithSelection(text) {
    const area = el("textarea", { className: "copy-buffer", readonly: true, "aria-hidden": "true", tabindex: "-1" });
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

  async function copyText(text, button, doneKey) {
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
    announce(ok ? t(doneKey) : t("copy_failed"));
    button.classList.toggle("is-copied", ok);
  }

  // ------------------------------------------------------------------ answer

  function languageOfPassages(response) {
    const first = (response.passages || [])[0];
    return (first && first.language) || "fr";
  }

  function renderFundChips(response, info) {
    const mentions = (Array.isArray(response.funds) ? response.funds : []).filter((m) => m && m.fund);
    if (!mentions.length) return null;
    return el(
      "div",
      { className: "fund-chips" },
      el("span", { className: "fund-chips-label", id: "fund-chips-label" }, t("funds_label")),
      el(
        "ul",
        { "aria-labelledby": "fund-chips-label" },
        mentions.map(function (mention) {
          const target = mention.id || mention.fund;
          return el(
            "li",
            { className: "fund-chip" },
            el(
              "a",
              {
                href: "funds/" + encodeURIComponent(target),
                className: "fund-link",
                "data-fund": target,
                "aria-haspopup": "dialog",
                title: mention.name || null,
                onclick: function (event) {
                  event.preventDefault();
                  openFund(target, event.currentTarget);
                },
              },
              mention.fund,
              mention.name ? el("span", { className: "visually-hidden" }, t("fund_chip_more", { name: mention.name })) : null,
            ),
            " ",
            (mention.markers || []).filter((n) => info.byMarker.has(n)).map((n) => markerLink(n, info)),
          );
        }),
      ),
    );
  }

  function renderAnswer(response, info) {
    const sentences = response.sentences || [];
    const paragraph = el("p", { className: "answer-text", lang: languageOfPassages(response) });
    if (sentences.length) {
      sentences.forEach(function (sentence, index) {
        if (index > 0) paragraph.append(" ");
        paragraph.append(el("span", { className: "sentence", "data-sentence": index }, linkified(sentence.text || "")));
        for (const n of sentence.markers || []) {
          paragraph.append(" ", markerLink(n, info));
        }
      });
    } else {
      paragraph.append(textWithMarkers(response.answer || "", info));
    }
    const section = el(
      "section",
      { className: "answer card", id: "answer", tabindex: "-1", "aria-labelledby": "answer-heading" },
      el("h2", { id: "answer-heading" }, t("answer_heading")),
      paragraph,
      renderFundChips(response, info),
      el("p", { className: "hint" }, t("answer_note")),
    );
    if (response.generated && response.generated.text) {
      section.append(
        el("h3", { className: "generated-heading" }, t("generated_heading")),
        el("p", { className: "generated-text" }, textWithMarkers(response.generated.text, info)),
        el("p", { className: "hint" }, t("generated_model", { model: response.generated.model || "?" })),
      );
    }
    const copy = el("button", { type: "button", className: "copy", id: "copy-answer" }, t("copy_answer"));
    copy.addEventListener("click", function () {
      copyText(formatAnswer(response, info), copy, "copied_answer");
    });
    section.append(el("div", { className: "actions" }, copy), renderFeedback(response, info));
    return section;
  }

  function activeFilterNames(request) {
    const names = [];
    if (!request) return names;
    if (request.fund) {
      const fund = fundById(request.fund);
      names.push(t("filter_fund", { name: fund ? fundName(fund) : request.fund }));
    }
    if (request.document) {
      const doc = documentById(request.document);
      names.push(t("filter_document", { title: doc ? doc.title || doc.doc_id : request.document }));
    }
    return names;
  }

  function renderNoAnswer(response, info) {
    const request = state.request;
    const section = el(
      "section",
      { className: "no-answer card", id: "answer", tabindex: "-1", "aria-labelledby": "no-answer-heading" },
      el("h2", { id: "no-answer-heading" }, t("no_answer_heading")),
      el(
        "p",
        { className: "no-answer-text" },
        t("no_answer_before"),
        t("quote_open"),
        el("q", { className: "asked", lang: response.language || null }, response.question || (request && request.question) || ""),
        t("quote_close"),
        t("no_answer_after"),
      ),
    );
    const filters = activeFilterNames(request);
    if (filters.length) {
      section.append(
        el(
          "p",
          { className: "no-answer-filters" },
          t("no_answer_filters", { filters: filters.join(", ") }),
          " ",
          el(
            "button",
            {
              type: "button",
              className: "secondary",
              id: "ask-without-filters",
              onclick: function () {
                const bare = Object.assign({}, request);
                delete bare.fund;
                delete bare.document;
                applyRequestToForm(bare);
                startAsk(bare);
              },
            },
            t("no_answer_clear"),
          ),
        ),
      );
    } else {
      section.append(el("p", { className: "no-answer-filters" }, t("no_answer_no_filter")));
    }
    section.append(el("p", {}, t("no_answer_hint")));
    const closest = info.passages[0];
    if (closest) {
      const c = closest.citation || {};
      const where = [sectionText(c), pageLabel(c, ["page", "pages"])].filter(Boolean).join(" · ");
      section.append(
        el(
          "div",
          { className: "closest" },
          el("p", { className: "closest-label" }, t("no_answer_closest")),
          el(
            "p",
            {},
            markerLink(closest.marker, info),
            " ",
            el("span", { className: "closest-title", lang: closest.language || "fr" }, c.title || c.doc_id || ""),
            where ? " — " + where : "",
          ),
          el("blockquote", { className: "closest-text", lang: closest.language || "fr" }, preview(closest.text || "", 300)),
        ),
      );
    } else {
      section.append(el("p", {}, t("no_answer_none")));
    }
    section.append(renderFeedback(response, info));
    return section;
  }

  // ------------------------------------------------------------------ feedback

  function renderFeedback(response, info) {
    const fb = state.feedback || { rating: null, comment: "", status: "idle" };
    const box = el("div", { className: "feedback", id: "feedback" });
    if (fb.status === "sent") {
      box.append(el("p", { className: "feedback-thanks", id: "feedback-thanks", tabindex: "-1" }, t("feedback_thanks")));
      return box;
    }
    const rate = function (rating) {
      return function () {
        fb.rating = fb.rating === rating ? null : rating;
        fb.error = null;
        keepingFocus(redrawFeedback);
      };
    };
    const thumb = (rating, emoji, key) =>
      el(
        "button",
        {
          type: "button",
          className: "thumb",
          id: "feedback-" + rating,
          "aria-pressed": String(fb.rating === rating),
          onclick: rate(rating),
        },
        el("span", { "aria-hidden": "true" }, emoji),
        " ",
        t(key),
      );
    const comment = el("textarea", {
      id: "feedback-comment",
      rows: "2",
      maxlength: "2000",
      oninput: function (event) {
        fb.comment = event.target.value;
      },
    });
    comment.value = fb.comment || "";
    const send = el(
      "button",
      {
        type: "submit",
        className: "secondary",
        id: "feedback-send",
        "aria-disabled": String(fb.status === "sending"),
      },
      t(fb.status === "sending" ? "feedback_sending" : "feedback_send"),
    );
    const form = el(
      "form",
      {
        className: "feedback-form",
        novalidate: true,
        onsubmit: function (event) {
          event.preventDefault();
          sendFeedback(response, info);
        },
      },
      el(
        "fieldset",
        {},
        el("legend", {}, t("feedback_legend")),
        el("div", { className: "thumbs" }, thumb("up", "👍", "feedback_up"), thumb("down", "👎", "feedback_down")),
        el("label", { for: "feedback-comment" }, t("feedback_comment")),
        comment,
        el("div", { className: "feedback-send" }, send),
      ),
    );
    box.append(form);
    if (fb.error) {
      box.append(
        el(
          "div",
          { className: "error feedback-error", id: "feedback-error", role: "alert" },
          errorContent(fb.error, fb.error.retryable ? () => sendFeedback(response, info) : null, "feedback"),
        ),
      );
    }
    return box;
  }

  function redrawFeedback() {
    const box = byId("feedback");
    const response = state.response;
    if (!box || !response) return;
    box.replaceWith(renderFeedback(response, analyse(response)));
  }

  async function sendFeedback(response, info) {
    const fb = state.feedback;
    if (!fb || fb.status === "sending") return;
    if (!fb.rating) {
      fb.error = { key: "feedback_choose", vars: null, retryable: false };
      redrawFeedback();
      byId("feedback-up").focus();
      return;
    }
    const request = state.request || { question: response.question };
    const passages = info.passages;
    const settings = { mode: response.mode || request.mode || null, top_k: request.top_k || DEFAULT_TOP_K, ui_language: state.lang };
    const filters = filtersOf(request);
    if (filters) settings.filters = filters;
    const body = {
      question: request.question || response.question,
      language: response.language || null,
      answer: response.answerable ? response.answer || null : null,
      answerable: Boolean(response.answerable),
      rating: fb.rating,
      comment: fb.comment && fb.comment.trim() ? fb.comment.trim() : null,
      passage_ids: passages.map((p) => p.id),
      doc_ids: [...new Set(passages.map((p) => (p.citation || {}).doc_id).filter(Boolean))],
      markers: passages.map((p) => p.marker),
      settings: settings,
    };
    fb.status = "sending";
    fb.error = null;
    keepingFocus(redrawFeedback);
    try {
      const created = await api("feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      fb.status = "sent";
      fb.id = created && created.id;
      redrawFeedback();
      const thanks = byId("feedback-thanks");
      if (thanks) thanks.focus();
      announce(t("feedback_thanks"));
    } catch (err) {
      fb.status = "idle";
      fb.error = describeError(err, { kind: "feedback" });
      redrawFeedback();
      const retry = byId("feedback-retry");
      if (retry) retry.focus();
    }
  }

  // ------------------------------------------------------------------ sources

  function renderFootnote(footnote, lang, options) {
    const opts = options || {};
    const linked = new Set();
    const body = el("div", { className: "footnote-body", lang: lang });
    body.append(...paragraphs(footnote.text || "", linked, opts.ranges));
    const extra = (footnote.urls || []).filter((u) => isWebUrl(u) && !linked.has(u));
    if (extra.length) {
      body.append(el("ul", { className: "links" }, extra.map((u) => el("li", {}, externalLink(u)))));
    }
    const details = el(
      "details",
      {
        className: "footnote" + (opts.marker ? " is-source" : ""),
        id: opts.marker ? "passage-" + opts.marker : null,
        tabindex: opts.marker ? "-1" : null,
        open: Boolean(opts.open),
      },
      el(
        "summary",
        {},
        el("span", { className: "footnote-number" }, t("footnote_n", { n: footnote.number })),
        opts.marker
          ? el(
              "span",
              { className: "footnote-marker" },
              el("span", { "aria-hidden": "true" }, "[" + opts.marker + "]"),
              el("span", { className: "visually-hidden" }, " (" + t("footnote_source", { n: opts.marker }) + ")"),
            )
          : null,
        el("span", { className: "footnote-preview", lang: lang }, preview(footnote.text || "")),
      ),
      body,
    );
    return details;
  }

  /** The footnote passages shown inside ``host``: footnote number -> footnote passage. */
  function hostedNotes(host, info) {
    const hosted = new Map();
    for (const [marker, where] of info.hosts) {
      if (where.host === host) hosted.set(where.number, info.byMarker.get(marker));
    }
    return hosted;
  }

  /** The highlights of footnote passage ``note`` moved into the text ``text`` of its call. */
  function movedRanges(note, text, info) {
    const ranges = info.highlights.get(note.marker) || [];
    if (String(note.text) === String(text)) return ranges;
    return ranges.map((r) => findText(text, note.text.slice(r.start, r.end))).filter(Boolean);
  }

  function renderSource(passage, info) {
    const n = passage.marker;
    const c = passage.citation || {};
    const lang = passage.language || "fr";
    const titleId = "passage-" + n + "-title";
    const linked = new Set();

    const meta = el("p", { className: "meta" });
    if (passage.kind === "footnote") meta.append(el("span", { className: "badge" }, t("kind_footnote")));
    if (c.reference) {
      meta.append(el("span", { className: "reference" }, el("span", { className: "visually-hidden" }, t("reference") + " "), c.reference));
    }
    if (c.date) {
      meta.append(
        el("span", { className: "date" }, el("span", { className: "visually-hidden" }, t("date") + " "), el("time", { datetime: c.date }, formatDate(c.date))),
      );
    }
    const section = sectionText(c);
    if (section) {
      meta.append(el("span", { className: "section" }, el("span", { className: "visually-hidden" }, t("section") + " "), section));
    }
    const page = pageLabel(c, ["page", "pages"]);
    if (page) meta.append(el("span", { className: "page" }, page));

    const hosted = hostedNotes(passage, info);
    const article = el(
      "article",
      {
        className: "passage card kind-" + passage.kind + (info.highlights.has(n) ? " has-highlight" : ""),
        id: "passage-" + n,
        tabindex: "-1",
        "aria-labelledby": titleId,
      },
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
      el("blockquote", { className: "passage-text", lang: lang }, paragraphs(passage.text || "", linked, info.highlights.get(n))),
    );

    for (const ref of passage.cited_by || []) {
      const where = sectionText(ref.citation || {}) || (ref.citation && ref.citation.title) || "";
      const excerpt = String(ref.text || "").trim();
      article.append(
        el("details", { className: "cited-by" }, el("summary", {}, t("cited_from", { section: where })), el("p", { lang: lang }, excerpt)),
      );
    }

    const notes = ownNotes(passage);
    if (notes.length) {
      article.append(
        el(
          "div",
          { className: "footnotes" },
          el("h4", {}, t("footnotes_heading")),
          notes.map(function (f) {
            for (const u of f.urls || []) linked.add(u);
            const note = hosted.get(f.number);
            if (!note) return renderFootnote(f, lang);
            const ranges = movedRanges(note, f.text || "", info);
            return renderFootnote(f, lang, {
              marker: note.marker,
              ranges: ranges,
              open: ranges.length > 0 || info.cited.has(note.marker),
            });
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

    const button = el("button", { type: "button", className: "copy", id: "copy-" + n, "aria-label": t("copy_button_label", { n: n }) }, t("copy_button"));
    button.addEventListener("click", function () {
      copyText(formatSource(passage), button, "copied");
    });
    const actions = el("div", { className: "actions" }, button);
    if (isWebUrl(c.source_url)) actions.append(" ", externalLink(c.source_url, t("original"), "external original"));
    article.append(actions);
    return el("li", {}, article);
  }

  function renderSources(response, info) {
    const shown = info.passages.filter((p) => !info.hosts.has(p.marker));
    const parts = [];
    if (!shown.length) {
      parts.push(el("section", { className: "passages-section", "aria-labelledby": "passages-heading" }, el("h2", { id: "passages-heading" }, t("closest_heading", { count: 0 })), el("p", {}, t("no_passages"))));
      return { parts, sources: 0, others: 0 };
    }
    const groups = response.answerable
      ? [
          ["sources", "sources_heading", shown.filter((p) => info.sourceCards.has(p.marker))],
          ["others", "others_heading", shown.filter((p) => !info.sourceCards.has(p.marker))],
        ]
      : [["closest", "closest_heading", shown]];
    for (const [name, key, items] of groups) {
      if (!items.length) continue;
      parts.push(
        el(
          "section",
          { className: "passages-section " + name, id: name + "-section", "aria-labelledby": name + "-heading" },
          el("h2", { id: name + "-heading" }, t(key, { count: items.length })),
          el("ol", { className: "passages" }, items.map((p) => renderSource(p, info))),
        ),
      );
    }
    const sources = response.answerable ? groups[0][2].length : 0;
    return { parts, sources: sources, others: shown.length - sources };
  }

  function renderWarnings(response) {
    const warnings = (response.warnings || []).filter(Boolean);
    if (!warnings.length) return null;
    return el(
      "aside",
      { className: "warnings", "aria-labelledby": "warnings-heading" },
      el("h2", { id: "warnings-heading" }, t("warnings_heading")),
      el("ul", { lang: "en" }, warnings.map((w) => el("li", {}, w))),
    );
  }

  function renderError() {
    const box = byId("error");
    if (!state.error) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.replaceChildren(...errorContent(state.error, retryAsk, "error"));
    box.hidden = false;
  }

  /** Draw the state: the last response (again after a language switch), or the error. */
  function renderResults() {
    renderLoading();
    const status = byId("status");
    const output = byId("output");
    if (state.loading) return;
    hidePreview();
    renderError();
    const response = state.response;
    const focus = state.focusResult;
    state.focusResult = false;
    if (!response) {
      status.replaceChildren();
      output.replaceChildren();
      if (focus && state.error) moveTo(byId("error"));
      return;
    }
    const info = analyse(response);
    const sources = renderSources(response, info);
    const parts = [];
    parts.push(response.answerable ? renderAnswer(response, info) : renderNoAnswer(response, info));
    parts.push(renderWarnings(response));
    parts.push(...sources.parts);
    parts.push(el("div", { className: "previews" }, info.passages.map((p) => renderPreview(p, info))));
    output.replaceChildren(...parts.filter(Boolean));
    status.textContent = response.answerable
      ? t("results_ready", { sources: sources.sources, others: sources.others })
      : t("results_unanswerable", { count: sources.others });
    if (focus) moveTo(byId("answer"));
  }

  /** Bring a result into view and give it the focus (on a phone it is below the form). */
  function moveTo(node) {
    if (!node) return;
    if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");
    node.focus({ preventScroll: true });
    node.scrollIntoView({ behavior: prefersReducedMotion() ? "auto" : "smooth", block: "start" });
  }

  // ------------------------------------------------------------------ fund dialog

  async function openFund(fund, opener) {
    const dialog = byId("fund-dialog");
    state.fundDialog = { fund: fund, data: null, error: null, opener: opener };
    renderFundDialog();
    if (!dialog.open) {
      if (dialog.showModal) dialog.showModal();
      else dialog.setAttribute("open", "");
    }
    byId("fund-dialog-close").focus();
    const current = state.fundDialog;
    try {
      current.data = await api("funds/" + encodeURIComponent(fund));
    } catch (err) {
      current.error = describeError(err, { kind: "fund" });
    }
    if (state.fundDialog === current) {
      keepingFocus(renderFundDialog);
      if (current.data && byId("fund-dialog-title")) byId("fund-dialog-title").focus();
    }
  }

  function closeFund() {
    const dialog = byId("fund-dialog");
    if (dialog.open) dialog.close();
  }

  function onFundClosed() {
    const current = state.fundDialog;
    state.fundDialog = null;
    if (current && current.opener && document.contains(current.opener)) current.opener.focus();
  }

  function fundPassageItem(passage) {
    const c = passage.citation || {};
    const where = [sectionText(c), pageLabel(c, ["page", "pages"])].filter(Boolean).join(" · ");
    return el(
      "li",
      {},
      el("p", { className: "fund-passage-title" }, el("span", { lang: passage.language || "fr" }, c.title || c.doc_id || ""), where ? " — " + where : ""),
      el("p", { className: "fund-passage-text", lang: passage.language || "fr" }, linkified(preview(passage.text || "", 280))),
    );
  }

  function fundList(items, key) {
    if (!items || !items.length) return null;
    const limit = 10;
    return [
      el("h3", {}, t(key, { count: items.length })),
      el("ul", { className: "fund-passages" }, items.slice(0, limit).map(fundPassageItem)),
      items.length > limit ? el("p", { className: "hint" }, t("fund_more", { count: items.length - limit })) : null,
    ];
  }

  function renderFundDialog() {
    const dialog = byId("fund-dialog");
    const current = state.fundDialog;
    if (!dialog || !current) return;
    const close = el("button", { type: "button", className: "secondary dialog-close", id: "fund-dialog-close", onclick: closeFund }, t("fund_dialog_close"));
    const body = [];
    if (current.error) {
      body.push(el("h2", { id: "fund-dialog-title", tabindex: "-1" }, current.fund));
      body.push(el("div", { className: "error", role: "alert" }, errorContent(current.error, null, "fund")));
    } else if (!current.data) {
      body.push(el("h2", { id: "fund-dialog-title", tabindex: "-1" }, current.fund));
      body.push(el("p", { className: "status" }, el("span", { className: "spinner", "aria-hidden": "true" }), t("fund_loading")));
    } else {
      const fund = current.data.fund || {};
      const otherName = state.lang === "en" ? fund.name : fund.name_en;
      const otherLang = state.lang === "en" ? "fr" : "en";
      body.push(el("h2", { id: "fund-dialog-title", tabindex: "-1", lang: state.lang === "en" && fund.name_en ? "en" : "fr" }, fundName(fund)));
      if (otherName && otherName !== fundName(fund)) body.push(el("p", { className: "fund-other-name", lang: otherLang }, otherName));
      const names = [...(fund.acronyms || []), ...(fund.aliases || [])];
      if (names.length) body.push(el("p", {}, t("fund_acronyms", { names: names.join(", ") })));
      const details = Object.entries(fund.details || {}).filter(([k, v]) => ["period", "successor_of"].includes(k) && v);
      if (details.length) {
        body.push(
          el(
            "dl",
            { className: "fund-details" },
            details.flatMap(([k, v]) => [el("dt", {}, t("fund_detail_" + k)), el("dd", {}, String(v))]),
          ),
        );
      }
      body.push(el("p", {}, t("fund_counts", { passages: fund.passages || 0, footnotes: fund.footnotes || 0 })));
      body.push(fundList(current.data.passages, "fund_passages"), fundList(current.data.footnotes, "fund_footnotes"));
    }
    dialog.replaceChildren(el("div", { className: "dialog-head" }, close), ...body.flat().filter(Boolean));
    dialog.setAttribute("aria-labelledby", "fund-dialog-title");
  }

  // ------------------------------------------------------------------ start

  function onQuestionKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const form = byId("ask-form");
      if (form.requestSubmit) form.requestSubmit();
      else ask(null);
    }
  }

  function onKeyDown(event) {
    if (event.key === "Escape" && openPreview) {
      // the tooltip closes; the focus stays on its marker
      hidePreview();
      event.preventDefault();
      event.stopPropagation();
    }
  }

  /** A question in the address (shared link, reload, back/forward): asked at once. */
  function askFromAddress() {
    const request = requestFromSearch(window.location.search);
    if (!request) return false;
    applyRequestToForm(request);
    runAsk(request, 0);
    return true;
  }

  function start() {
    state.lang = initialLanguage();
    byId("ask-form").addEventListener("submit", ask);
    byId("key-form").addEventListener("submit", submitKey);
    byId("question").addEventListener("keydown", onQuestionKey);
    byId("lang-toggle").addEventListener("click", function () {
      setLanguage(state.lang === "fr" ? "en" : "fr");
    });
    byId("history-clear").addEventListener("click", clearHistory);
    const dialog = byId("fund-dialog");
    dialog.addEventListener("close", onFundClosed);
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) closeFund(); // a click on the backdrop
    });
    document.addEventListener("keydown", onKeyDown, true);
    window.addEventListener("popstate", function () {
      if (!state.loading) askFromAddress();
    });
    applyLanguage();
    loadFilters();
    askFromAddress();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
