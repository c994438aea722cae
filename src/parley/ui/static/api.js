// Requests to the gateway with the API key (asked for once, kept in this tab's session
// storage), and the named Server-Sent Events of POST /v1/deliberations, read from a fetch
// (EventSource can neither POST nor send the key).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const KEY = "parley.apiKey";

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

  async function readEvents(resp, onEvent) {
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

  function setupKeyDialog() {
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
  }

  window.ParleyApi = { api: api, getJson: getJson, errorText: errorText, readEvents: readEvents, setupKeyDialog: setupKeyDialog };
})();
