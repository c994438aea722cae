// The page: ask, watch the deliberation stream in (POST /v1/deliberations, named SSE
// events, drawn by ParleyRun), stop it, continue from an answer, and read past runs
// (GET /v1/deliberations) by search or by link (/ui/runs/<id>).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const { api, getJson, errorText, readEvents } = window.ParleyApi;
  const view = window.ParleyRun;
  const { el, say } = view;
  const state = {
    choices: null,
    controller: null,
    history: [], // messages of the conversation being continued
    conversationId: null,
  };

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

  // --- asking ---------------------------------------------------------------------------

  function busy(on) {
    $("ask-button").disabled = on;
    $("stop-button").hidden = !on;
    $("run").setAttribute("aria-busy", on ? "true" : "false");
  }

  async function submit(ev) {
    ev.preventDefault();
    const question = $("question").value.trim();
    if (!question) {
      say("Write a question first.");
      $("question").focus();
      return;
    }
    view.start(question);
    const run = view.current();
    run.sent = state.history.slice();
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
      await readEvents(resp, view.onEvent);
      if (run.conversationId) state.conversationId = run.conversationId;
      if (run.runId && run.logged) {
        history.replaceState(null, "", "/ui/runs/" + encodeURIComponent(run.runId));
        loadHistory();
      }
    } catch (e) {
      if (e.name !== "AbortError") say("Failed: " + e.message);
    } finally {
      busy(false);
      run.cancelToken = null;
      state.controller = null;
    }
  }

  async function stop() {
    say("Stopping…");
    const run = view.current();
    const token = run && run.cancelToken;
    if (token) {
      const resp = await api("/v1/deliberations/cancel", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ cancel_token: token }),
      });
      if (resp.ok) return; // the stream ends with parley.run.cancelled
    }
    if (state.controller) state.controller.abort(); // closing the stream cancels it too
    say("Stopped.");
  }

  function continueFrom() {
    const run = view.current();
    const entry = run && run.entry;
    if (!entry) return;
    // A run asked in this tab carries the turns before it; a reopened one starts from itself.
    const before = run.sent || [];
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
      view.showEntry(entry);
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
    $("compare-a").addEventListener("change", view.renderCompare);
    $("compare-b").addEventListener("change", view.renderCompare);
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
    window.ParleyApi.setupKeyDialog();
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

