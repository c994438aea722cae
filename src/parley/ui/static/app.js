// The page: ask, watch the deliberation stream in (POST /v1/deliberations, named SSE
// events), read past runs (GET /v1/deliberations). Every text a model wrote goes into the
// page as text nodes (or through ParleyMarkdown, which builds nodes): never as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const KEY = "parley.apiKey";
  const md = window.ParleyMarkdown;
  const state = {
    choices: null,
    run: null, // the run on screen: {entry, live, columns, answer, ...}
    cancelToken: null,
    controller: null,
    history: [], // messages of the conversation being continued
    conversationId: null,
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  }

  function say(text) {
    $("status").textContent = text;
  }

  // --- the API key and requests ---------------------------------------------------------

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    const key = sessionStorage.getItem(KEY);
    if (key) h.Authorization = "Bearer " + key;
    return h;
  }

  let keyWaiters = [];
  function askForKey(why) {
    $("key-why").textContent = why || $("key-why").textContent;
    const dialog = $("key-dialog");
    if (!dialog.open) dialog.showModal();
    $("key-input").focus();
    return new Promise((resolve) => keyWaiters.push(resolve));
  }

  function keyGiven(ok) {
    const waiters = keyWaiters;
    keyWaiters = [];
    waiters.forEach((w) => w(ok));
  }

  async function errorText(resp) {
    try {
      const body = await resp.json();
      return (body.error && body.error.message) || resp.statusText;
    } catch (e) {
      return resp.status + " " + resp.statusText;
    }
  }

  async function api(path, options) {
    for (;;) {
      const opts = Object.assign({}, options || {});
      opts.headers = headers(opts.headers);
      const resp = await fetch(path, opts);
      if (resp.status !== 401) return resp;
      const why = await errorText(resp);
      const given = await askForKey("This server needs an API key: " + why);
      if (!given) return resp;
    }
  }

  async function getJson(path) {
    const resp = await api(path);
    if (!resp.ok) throw new Error(await errorText(resp));
    return resp.json();
  }

  // --- choosing the panel ---------------------------------------------------------------

  function fillSelect(select, ids, chosen) {
    select.replaceChildren(...ids.map((id) => el("option", { value: id, text: id })));
    if (chosen) select.value = chosen;
  }

  function applyPreset(name) {
    const c = state.choices;
    const p = c.presets[name];
    const panel = p ? p.panel : c.defaults.panel;
    for (const box of document.querySelectorAll("#panel-choices input")) {
      box.checked = panel.includes(box.value);
    }
    if (p && p.judge) $("judge").value = p.judge;
    if (p && p.model) $("outer").value = p.model;
  }

  async function loadChoices() {
    const c = await getJson("/v1/choices");
    state.choices = c;
    const ids = Array.from(new Set([...c.models, ...c.defaults.panel]));
    const presets = Object.keys(c.presets);
    $("preset").replaceChildren(
      el("option", { value: "", text: "custom" }),
      ...presets.map((n) => el("option", { value: n, text: n }))
    );
    $("panel-choices").replaceChildren(
      ...ids.map((id, i) =>
        el("label", { class: "inline" }, el("input", { type: "checkbox", value: id, id: "m-" + i }), " " + id)
      )
    );
    fillSelect($("judge"), ids, c.defaults.judge);
    fillSelect($("outer"), ids, c.defaults.model);
    const named = c.presets[c.defaults.preset];
    const same = named && named.panel.join() === c.defaults.panel.join();
    const preset = same ? c.defaults.preset : "";
    $("preset").value = preset;
    applyPreset(preset);
    if (c.offline) notice("No provider key is set: only the offline models can answer.");
    if (!c.logged) notice("This server keeps no log, so runs will not appear in History (set log_gateway = true).");
  }

  function notice(text) {
    const n = $("notice");
    n.hidden = false;
    n.textContent = n.textContent ? n.textContent + " " + text : text;
  }

  function numberParam(params, name) {
    const raw = $("p-" + name).value;
    if (raw !== "") params[name] = Number(raw);
  }

  function askBody(question) {
    const params = {};
    ["temperature", "max_tool_calls", "max_completion_tokens", "deadline_s", "quorum"].forEach((n) =>
      numberParam(params, n)
    );
    if ($("p-effort").value) params.reasoning = { effort: $("p-effort").value };
    if ($("p-no-tools").checked) params.tools = [];
    const panel = Array.from(document.querySelectorAll("#panel-choices input:checked")).map((b) => b.value);
    const body = { question: question, parameters: params, panel: panel, judge: $("judge").value, model: $("outer").value };
    if (state.history.length) body.history = state.history;
    if (state.conversationId) body.conversation_id = state.conversationId;
    return body;
  }

  // --- the run on screen ----------------------------------------------------------------

  function fmtCost(cost) {
    return typeof cost === "number" ? "$" + cost.toFixed(cost < 0.01 ? 5 : 3) : "cost unknown";
  }

  function fmtUsage(u) {
    if (!u) return "";
    return (u.total_tokens || 0) + " tokens, " + fmtCost(u.cost);
  }

  function newRun(question) {
    $("run").hidden = false;
    $("run-question").textContent = question;
    $("columns").replaceChildren();
    $("analysis").replaceChildren(el("p", { class: "note", text: "Waiting for the panel." }));
    $("answer").replaceChildren();
    $("sources").replaceChildren();
    $("usage").replaceChildren();
    $("compare").hidden = true;
    $("continue").hidden = true;
    $("share").hidden = true;
    state.run = { columns: [], answer: "", entry: null, question: question, runId: null };
  }

  function column(index, model) {
    const cols = state.run.columns;
    if (cols[index]) return cols[index];
    const head = el("h4", { id: "col-h-" + index, text: model });
    const st = el("p", { class: "state waiting", text: "waiting" });
    const body = el("div", { class: "md answer-text" });
    const node = el("article", { class: "column", "aria-labelledby": "col-h-" + index, "data-model": model }, head, st, body);
    $("columns").append(node);
    cols[index] = { node: node, state: st, body: body, text: "", model: model };
    return cols[index];
  }

  function setState(col, cls, text) {
    col.state.className = "state " + cls;
    col.state.textContent = text;
  }

  let paintQueued = false;
  function paint() {
    if (paintQueued) return;
    paintQueued = true;
    requestAnimationFrame(() => {
      paintQueued = false;
      if (!state.run) return;
      for (const col of state.run.columns) if (col && col.dirty) {
        md.render(col.text, col.body);
        col.dirty = false;
      }
      if (state.run.answerDirty) {
        md.render(state.run.answer, $("answer"));
        state.run.answerDirty = false;
      }
    });
  }

  function onEvent(name, data) {
    const run = state.run;
    if (name === "parley.run.started") {
      run.runId = data.run_id;
      run.logged = data.logged;
      state.cancelToken = data.cancel_token;
      state.conversationId = data.conversation_id;
      say("Asking the panel…");
    } else if (name === "response.fusion_call.panel.added") {
      column(data.index, data.model);
    } else if (name === "response.fusion_call.panel.tool_call") {
      const col = column(data.index, data.model);
      const a = data.arguments || {};
      if (a.query) setState(col, "busy", "searching: " + a.query);
      else if (a.url) setState(col, "busy", "fetching: " + a.url);
      else setState(col, "busy", "using " + data.tool);
    } else if (name === "response.fusion_call.panel.delta") {
      const col = column(data.index, data.model);
      if (!col.state.classList.contains("writing")) setState(col, "writing", "writing…");
      col.text += data.delta;
      col.dirty = true;
      paint();
    } else if (name === "response.fusion_call.panel.completed") {
      const col = column(data.index, data.model);
      col.text = data.content;
      col.dirty = true;
      paint();
      const took = typeof data.seconds === "number" ? " in " + data.seconds.toFixed(1) + " s" : "";
      setState(col, "done", "done" + took + (data.usage ? " · " + fmtUsage(data.usage) : ""));
    } else if (name === "response.fusion_call.panel.failed") {
      const col = column(data.index, data.model);
      const code = data.status_code ? " (" + data.status_code + ")" : "";
      setState(col, "failed", "failed" + code + ": " + data.error);
    } else if (name === "response.fusion_call.analysis.in_progress") {
      $("analysis").replaceChildren(el("p", { class: "note", text: "The judge (" + data.judge_model + ") is mapping the answers…" }));
      say("The judge is mapping the answers…");
    } else if (name === "response.fusion_call.analysis.completed") {
      if (data.analysis) renderAnalysis(data.analysis);
      else $("analysis").replaceChildren(el("p", { class: "note", text: "No analysis: " + (data.failure_reason || "the judge failed") }));
      say("Writing the final answer…");
    } else if (name === "parley.tool_call" && data.name !== "fusion") {
      const a = data.arguments || {};
      say("The answering model is using " + data.name + (a.query || a.url ? ": " + (a.query || a.url) : "") + "…");
    } else if (name === "response.output_text.delta") {
      run.answer += data.delta;
      run.answerDirty = true;
      paint();
    } else if (name === "parley.run.completed" || name === "parley.run.cancelled") {
      showEntry(data, { live: true });
      say(name === "parley.run.cancelled" ? "Stopped: the panel's calls were cancelled." : "Done.");
    } else if (name === "error") {
      const message = (data.error && data.error.message) || "the run failed";
      say("Failed: " + message);
      $("answer").replaceChildren(el("p", { class: "error", text: message }));
    }
  }

  function card(title, ...content) {
    return el("section", { class: "card", "aria-label": title }, el("h4", { text: title }), ...content);
  }

  function list(items, render) {
    if (!items || !items.length) return el("p", { class: "note", text: "None." });
    return el("ul", {}, ...items.map((x) => el("li", {}, ...render(x))));
  }

  function renderAnalysis(a) {
    const contradictions = (a.contradictions || []).length
      ? el(
          "div",
          { class: "contradictions" },
          ...a.contradictions.map((c) =>
            el(
              "div",
              { class: "topic" },
              el("p", { class: "topic-name", text: c.topic }),
              el("div", { class: "stances" }, ...c.stances.map((s) => el("div", { class: "stance" }, el("strong", { text: s.model }), el("p", { text: s.stance }))))
            )
          )
        )
      : el("p", { class: "note", text: "None." });
    $("analysis").replaceChildren(
      card("Consensus", list(a.consensus, (x) => [x])),
      card("Contradictions", contradictions),
      card("Partial coverage", list(a.partial_coverage, (x) => [x.point + " ", el("span", { class: "who", text: "(" + x.models.join(", ") + ")" })])),
      card("Unique insights", list(a.unique_insights, (x) => [el("strong", { text: x.model + ": " }), x.insight])),
      card("Blind spots", list(a.blind_spots, (x) => [x]))
    );
    if (state.run) state.run.analysis = a;
  }

  function stages(entry) {
    const d = (entry.deliberations || [])[0];
    const out = [];
    if (d && d.timings) {
      const panel = Math.max(0, ...Object.entries(d.timings).filter(([k]) => k.startsWith("panel:")).map(([, v]) => v));
      const total = d.timings.total || panel;
      out.push(["Panel", panel], ["Analysis", Math.max(0, total - panel)]);
      if (typeof entry.seconds === "number") out.push(["Final answer", Math.max(0, entry.seconds - total)]);
    }
    if (typeof entry.seconds === "number") out.push(["Total", entry.seconds]);
    return out;
  }

  function renderUsage(entry) {
    const u = entry.usage || {};
    const rows = [
      ["Tokens", (u.prompt_tokens || 0) + " in, " + (u.completion_tokens || 0) + " out, " + (u.total_tokens || 0) + " total"],
      ["Cost", fmtCost(entry.cost)],
      ...stages(entry).map(([n, s]) => [n, s.toFixed(1) + " s"]),
    ];
    $("usage").replaceChildren(el("dl", { class: "usage" }, ...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])));
  }

  function renderSources(entry) {
    const sources = (entry.deliberations || []).flatMap((d) => d.sources || []);
    if (!sources.length) return $("sources").replaceChildren();
    const items = sources.map((s) => {
      const href = md.safeHref(s.url);
      if (!href) return el("li", { text: s.title || s.url });
      const a = el("a", { href: href, rel: "noopener noreferrer nofollow", target: "_blank", text: s.title || s.url });
      return el("li", {}, a);
    });
    $("sources").replaceChildren(el("h4", { text: "Sources" }), el("ul", {}, ...items));
  }

  // The finished run, from its log entry: the same view live and when reopened.
  function showEntry(entry, opts) {
    if (!opts || !opts.live) newRun(entry.question);
    const run = state.run;
    run.entry = entry;
    run.runId = entry.id;
    const d = (entry.deliberations || [])[0];
    if (d) {
      const failed = {};
      (d.failed || []).forEach((f) => (failed[f.model] = f));
      const answered = {};
      (d.responses || []).forEach((r) => (answered[r.model] = r));
      d.panel.forEach((model, i) => {
        const col = column(i, model);
        const r = answered[model];
        if (r) {
          col.text = r.content;
          md.render(r.content, col.body);
          const took = typeof r.seconds === "number" ? " in " + r.seconds.toFixed(1) + " s" : "";
          setState(col, "done", "done" + took + (r.usage ? " · " + fmtUsage(r.usage) : ""));
        } else if (failed[model]) {
          const f = failed[model];
          setState(col, "failed", "failed" + (f.status_code ? " (" + f.status_code + ")" : "") + ": " + f.error);
        } else {
          setState(col, "failed", entry.status === "cancelled" ? "stopped" : "no answer");
        }
      });
      if (d.analysis) renderAnalysis(d.analysis);
      else if (d.failure_reason) $("analysis").replaceChildren(el("p", { class: "note", text: "No analysis: " + d.failure_reason }));
      else if (entry.status === "cancelled") $("analysis").replaceChildren(el("p", { class: "note", text: "Stopped before the analysis." }));
    }
    run.answer = entry.answer || "";
    md.render(run.answer, $("answer"));
    if (entry.error && !entry.answer) $("answer").replaceChildren(el("p", { class: "error", text: entry.error }));
    renderSources(entry);
    renderUsage(entry);
    setupCompare(d);
    const logged = !opts || !opts.live || run.logged !== false;
    $("share").hidden = !logged;
    $("share").href = "/ui/runs/" + encodeURIComponent(entry.id);
    $("continue").hidden = !entry.answer;
    if (logged && (!opts || !opts.live)) say("Showing run " + entry.id + " from " + (entry.created_at || "the log") + ".");
  }

  // --- compare view ---------------------------------------------------------------------

  function words(text) {
    return new Set((text.toLowerCase().match(/[a-z0-9]{5,}/g) || []));
  }

  // The paragraph of `answer` that says most of what `stance` says (the judge paraphrases,
  // so shared words are the best guide to where a contradiction occurs).
  function where(paragraphs, stance) {
    const w = words(stance);
    let best = -1;
    let score = 1;
    paragraphs.forEach((p, i) => {
      let s = 0;
      words(p).forEach((x) => (s += w.has(x) ? 1 : 0));
      if (s > score) [best, score] = [i, s];
    });
    return best;
  }

  function setupCompare(d) {
    const answers = d ? (d.responses || []) : [];
    if (answers.length < 2) return;
    $("compare").hidden = false;
    const opts = () => answers.map((r, i) => el("option", { value: String(i), text: r.model }));
    $("compare-a").replaceChildren(...opts());
    $("compare-b").replaceChildren(...opts());
    $("compare-b").value = "1";
    state.run.compare = answers;
    renderCompare();
  }

  function renderCompare() {
    const answers = state.run && state.run.compare;
    if (!answers) return;
    const pick = [answers[Number($("compare-a").value)], answers[Number($("compare-b").value)]];
    const paras = pick.map((r) => r.content.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean));
    const marks = [{}, {}];
    const analysis = state.run.analysis;
    for (const c of (analysis && analysis.contradictions) || []) {
      pick.forEach((r, side) => {
        const s = c.stances.find((x) => x.model === r.model);
        if (!s) return;
        const at = where(paras[side], s.stance);
        if (at >= 0) marks[side][at] = c.topic;
      });
    }
    const rows = [];
    const n = Math.max(paras[0].length, paras[1].length);
    for (let i = 0; i < n; i++) {
      const cells = [0, 1].map((side) => {
        const text = paras[side][i] || "";
        const cell = el("div", { class: "cell" });
        if (marks[side][i]) {
          cell.classList.add("contradiction");
          cell.append(el("p", { class: "flag", text: "Contradiction: " + marks[side][i] }));
        }
        const body = el("div", { class: "md" });
        md.render(text, body);
        cell.append(body);
        return cell;
      });
      rows.push(el("div", { class: "row" }, ...cells));
    }
    const head = el("div", { class: "row head" }, el("div", { class: "cell", text: pick[0].model }), el("div", { class: "cell", text: pick[1].model }));
    $("compare-view").replaceChildren(head, ...rows);
  }

  // --- asking ---------------------------------------------------------------------------

  function busy(on) {
    $("ask-button").disabled = on;
    $("stop-button").hidden = !on;
    $("run").setAttribute("aria-busy", on ? "true" : "false");
  }

  async function readEvents(resp) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  async function submit(ev) {
    ev.preventDefault();
    const question = $("question").value.trim();
    if (!question) {
      say("Write a question first.");
      $("question").focus();
      return;
    }
    newRun(question);
    state.run.sent = state.history.slice();
    busy(true);
    say("Starting…");
    state.controller = new AbortController();
    try {
      const resp = await api("/v1/deliberations", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(askBody(question)),
        signal: state.controller.signal,
      });
      if (!resp.ok) {
        const message = await errorText(resp);
        say("Refused: " + message);
        $("answer").replaceChildren(el("p", { class: "error", text: message }));
        return;
      }
      await readEvents(resp);
      if (state.run && state.run.runId && state.run.logged) {
        history.replaceState(null, "", "/ui/runs/" + encodeURIComponent(state.run.runId));
        loadHistory();
      }
    } catch (e) {
      if (e.name !== "AbortError") say("Failed: " + e.message);
    } finally {
      busy(false);
      state.cancelToken = null;
      state.controller = null;
    }
  }

  async function stop() {
    say("Stopping…");
    if (state.cancelToken) {
      const resp = await api("/v1/deliberations/cancel", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ cancel_token: state.cancelToken }),
      });
      if (resp.ok) return; // the stream ends with parley.run.cancelled
    }
    if (state.controller) state.controller.abort(); // closing the stream cancels it too
    say("Stopped.");
  }

  function continueFrom() {
    const entry = state.run && state.run.entry;
    if (!entry) return;
    // A run asked in this tab carries the turns before it; a reopened one starts from itself.
    const before = state.run.sent || [];
    state.history = [...before, { role: "user", content: entry.question }, { role: "assistant", content: entry.answer }];
    state.conversationId = entry.conversation_id;
    $("continuing").hidden = false;
    $("continuing-q").textContent = entry.question;
    $("question").value = "";
    $("question").focus();
    say("Your next question continues this conversation.");
  }

  function fresh() {
    state.history = [];
    state.conversationId = null;
    $("continuing").hidden = true;
    $("question").focus();
  }

  // --- history --------------------------------------------------------------------------

  async function loadHistory() {
    const q = $("history-q").value.trim();
    let data;
    try {
      data = await getJson("/v1/deliberations" + (q ? "?q=" + encodeURIComponent(q) : ""));
    } catch (e) {
      $("history-note").hidden = false;
      $("history-note").textContent = "History is unavailable: " + e.message;
      return;
    }
    $("history-note").hidden = data.logged !== false;
    if (data.message) $("history-note").textContent = data.message;
    const items = data.data.map((e) => {
      const a = el("a", { href: "/ui/runs/" + encodeURIComponent(e.id), "data-run": e.id, text: e.question || "(no question)" });
      const meta = el("span", { class: "meta", text: [e.created_at, e.source, e.status !== "ok" ? e.status : ""].filter(Boolean).join(" · ") });
      return el("li", {}, a, meta);
    });
    if (!items.length) items.push(el("li", { class: "note", text: q ? "Nothing matches." : "No runs yet." }));
    $("history-list").replaceChildren(...items);
  }

  async function openRun(id, push) {
    try {
      const entry = await getJson("/v1/deliberations/" + encodeURIComponent(id));
      showEntry(entry);
      if (push) history.pushState(null, "", "/ui/runs/" + encodeURIComponent(id));
      $("run-h").focus();
    } catch (e) {
      say("Cannot open run " + id + ": " + e.message);
    }
  }

  function runFromUrl() {
    const m = /^\/ui\/runs\/([^/]+)$/.exec(location.pathname) || /[#&]run=([^&]+)/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }

  let searchTimer = null;

  async function start() {
    $("run-h").tabIndex = -1;
    $("ask-form").addEventListener("submit", submit);
    $("stop-button").addEventListener("click", stop);
    $("continue").addEventListener("click", continueFrom);
    $("fresh").addEventListener("click", fresh);
    $("preset").addEventListener("change", () => applyPreset($("preset").value));
    $("compare-a").addEventListener("change", renderCompare);
    $("compare-b").addEventListener("change", renderCompare);
    $("question").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("ask-form").requestSubmit();
    });
    $("history-q").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(loadHistory, 200);
    });
    $("history-list").addEventListener("click", (e) => {
      const a = e.target.closest("a[data-run]");
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      openRun(a.dataset.run, true);
    });
    window.addEventListener("popstate", () => {
      const id = runFromUrl();
      if (id) openRun(id, false);
    });
    $("key-button").addEventListener("click", () => askForKey());
    $("key-form").addEventListener("submit", () => {
      sessionStorage.setItem(KEY, $("key-input").value.trim());
      $("key-input").value = "";
      keyGiven(true);
    });
    $("key-cancel").addEventListener("click", () => {
      $("key-dialog").close();
      keyGiven(false);
    });
    $("key-dialog").addEventListener("cancel", () => keyGiven(false));
    try {
      await loadChoices();
    } catch (e) {
      say("Cannot load the models: " + e.message);
    }
    await loadHistory();
    const id = runFromUrl();
    if (id) await openRun(id, false);
    document.body.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
