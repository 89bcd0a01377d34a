// What both pages share: the API, actions with the token, live streams, and small helpers.
// Every text from the server goes in with textContent; only the server's SVG (escaped
// there) is set as markup.
"use strict";

const actors = (() => {
  const TOKEN_KEY = "actors-web-token";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (name === "text") node.textContent = value;
      else if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  function when(iso) {
    if (!iso) return "-";
    const date = new Date(iso);
    const today = new Date();
    const ms = date.getMilliseconds();
    const time = date.toLocaleTimeString([], { hour12: false }) +
      (ms ? `.${String(ms).padStart(3, "0")}` : "");
    return date.toDateString() === today.toDateString()
      ? time
      : `${date.toISOString().slice(0, 10)} ${time}`;
  }

  function ago(iso) {
    if (!iso) return "-";
    const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    if (Math.abs(seconds) < 60) return `${seconds}s ago`;
    if (Math.abs(seconds) < 3600) return `${Math.round(seconds / 60)}m ago`;
    return `${Math.round(seconds / 3600)}h ago`;
  }

  function say(text, failed) {
    const message = document.getElementById("message");
    message.textContent = text;
    message.className = failed ? "failed" : "done";
  }

  async function api(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  // An action: POST with the token in a header (never a cookie); says how it went.
  async function act(path, body) {
    const headers = { "Content-Type": "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers["X-Actors-Token"] = token;
    let answer;
    try {
      const response = await fetch(path, {
        method: "POST",
        headers,
        body: body === undefined ? "" : JSON.stringify(body),
      });
      answer = await response.json();
      answer.status = response.status;
    } catch (error) {
      say(`${path}: ${error}`, true);
      return null;
    }
    const what = `${answer.action || "action"} ${answer.program || ""}`.trim();
    if (answer.ok && answer.running) say(`${what}: ${answer.message}`, false);
    else if (answer.ok) say(`${what}: done${answer.result === null ? "" : ` → ${JSON.stringify(answer.result)}`}`, false);
    else say(`refused (${answer.status}): ${answer.error}`, true);
    return answer;
  }

  // A live stream: `handlers` by event name; the browser reconnects by itself.
  function stream(url, handlers) {
    const live = document.getElementById("live");
    const source = new EventSource(`${url}${url.includes("?") ? "&" : "?"}after=${lastSeq}`);
    source.onopen = () => { live.textContent = "live"; live.className = "live on"; };
    source.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
    for (const [name, handle] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => handle(JSON.parse(event.data)));
    }
    return source;
  }

  // The number of the newest event shown: a new stream starts after it, and an event seen
  // already (a reconnect) is not shown twice.
  let lastSeq = 0;

  function addEvents(list, events, withProgram) {
    for (const event of events) {
      if (event.seq <= lastSeq) continue;
      lastSeq = event.seq;
      const item = el("li", { class: event.error ? "error" : null, "data-kind": event.kind },
        el("time", { text: when(event.at) }), " ",
        withProgram ? el("a", { href: `/programs/${encodeURIComponent(event.program)}`, text: event.program }) : null,
        withProgram ? " " : null,
        el("span", { class: "kind", text: event.kind }), " ", event.text);
      list.prepend(item);
    }
    while (list.children.length > 200) list.lastChild.remove();
  }

  async function start() {
    const field = document.getElementById("token");
    field.value = sessionStorage.getItem(TOKEN_KEY) || "";
    field.addEventListener("change", () => sessionStorage.setItem(TOKEN_KEY, field.value));
    const info = await api("/api/info");
    const source = document.getElementById("source");
    if (source) source.textContent = info.source;
    if (info.read_only) {
      field.disabled = true;
      field.placeholder = "read-only: started without a token";
    }
    return info;
  }

  return { act, addEvents, ago, api, el, say, start, stream, when };
})();
