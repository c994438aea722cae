// The run on screen: one column per panelist, the analysis cards, the compare view, the
// final answer, sources and usage; fed live by the stream's events (`onEvent`) or drawn
// whole from a log entry (`showEntry`), the same shape either way. Model text only ever
// enters the page as text nodes or through ParleyMarkdown (which builds nodes).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const md = window.ParleyMarkdown;
  const state = { run: null }; // {columns, answer, entry, runId, logged, cancelToken, ...}

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
      run.cancelToken = data.cancel_token;
      run.conversationId = data.conversation_id;
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
          setState(col, "failed", entry.status === "interrupted" ? "stopped" : "no answer");
        }
      });
      if (d.analysis) renderAnalysis(d.analysis);
      else if (d.failure_reason) $("analysis").replaceChildren(el("p", { class: "note", text: "No analysis: " + d.failure_reason }));
      else if (entry.status === "interrupted") $("analysis").replaceChildren(el("p", { class: "note", text: "Stopped before the analysis." }));
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

  window.ParleyRun = {
    el: el,
    say: say,
    start: newRun,
    onEvent: onEvent,
    showEntry: showEntry,
    renderCompare: renderCompare,
    current: () => state.run,
  };
})();
