// The front page: runners, the programs table (sorted, filtered and paged by the server) and
// the events stream, all kept up to date by one server-sent events stream.
"use strict";

(() => {
  const { act, addEvents, ago, el, start, stream, when } = actors;
  const query = { page: 1, size: 50, sort: "id", order: "asc", tag: "", search: "" };
  let live = null;

  function drawRunners(runners) {
    const body = document.querySelector("#runners tbody");
    body.replaceChildren(...runners.map((runner) => el("tr", { "data-id": runner.id },
      el("td", { text: runner.id }), el("td", { text: runner.host }),
      el("td", { text: runner.pid }), el("td", { text: when(runner.started_at) }),
      el("td", { text: ago(runner.heartbeat), title: runner.heartbeat }),
      el("td", { class: runner.alive ? "ok" : "bad", text: runner.alive ? "alive" : "not heard of" }))));
  }

  function actions(program) {
    const path = `/programs/${encodeURIComponent(program.id)}`;
    const paused = program.status === "paused";
    return el("td", { class: "row-actions" },
      el("button", { type: "button", "data-action": "trigger", onclick: () => act(`${path}/trigger`), text: "trigger" }),
      el("button", { type: "button", "data-action": paused ? "resume" : "pause",
        onclick: () => act(`${path}/${paused ? "resume" : "pause"}`), text: paused ? "resume" : "pause" }));
  }

  function drawPage(page) {
    const body = document.querySelector("#programs tbody");
    body.replaceChildren(...page.programs.map((program) => el("tr", { "data-id": program.id },
      el("td", { "data-col": "id" }, el("a", { href: `/programs/${encodeURIComponent(program.id)}`, text: program.id })),
      el("td", { "data-col": "status", class: `status ${program.status}`, text: program.status }),
      el("td", { "data-col": "schedule", text: program.schedule }),
      el("td", { "data-col": "spawns", text: program.spawn_counts }),
      el("td", { "data-col": "runs", class: "number", text: program.runs }),
      el("td", { "data-col": "failed", class: program.failed ? "number bad" : "number", text: program.failed,
        title: program.last_error || null }),
      el("td", { "data-col": "missed", class: "number", text: program.missed }),
      el("td", { "data-col": "last_run", text: when(program.last_run) }),
      el("td", { "data-col": "next_run", text: when(program.next_run) }),
      el("td", { "data-col": "owner", text: program.owner || "-" }),
      el("td", { "data-col": "tags", text: program.tags.join(", ") }),
      actions(program))));
    document.getElementById("total").textContent = `(${page.total})`;
    document.getElementById("pageinfo").textContent = `page ${page.page} of ${page.pages}`;
    document.getElementById("prev").disabled = page.page <= 1;
    document.getElementById("next").disabled = page.page >= page.pages;
    query.page = page.page;
    const select = document.getElementById("tag");
    const shown = [...select.options].map((option) => option.value).slice(1).join("\n");
    if (shown !== page.tags.join("\n")) {
      select.replaceChildren(el("option", { value: "", text: "all" }),
        ...page.tags.map((tag) => el("option", { value: tag, text: tag })));
      select.value = query.tag;
    }
    for (const header of document.querySelectorAll("#programs th[data-sort]")) {
      const sorted = header.dataset.sort === query.sort;
      header.className = sorted ? `sorted ${query.order}` : "";
      header.setAttribute("aria-sort", sorted ? (query.order === "asc" ? "ascending" : "descending") : "none");
    }
  }

  // A new query is a new stream: the server pushes this page of the table from now on.
  // A query the server refuses (a hand-edited URL) is said, and the defaults shown instead.
  async function listen() {
    if (live) live.close();
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== "") params.set(name, value);
    try {
      await actors.api(`/api/programs?${params}`);
    } catch (error) {
      actors.say(`${error.message}: showing the first page instead`, true);
      Object.assign(query, { page: 1, size: 50, sort: "id", order: "asc", tag: "", search: "" });
      return listen();
    }
    history.replaceState(null, "", `/?${params}`);
    live = stream(`/api/stream/programs?${params}`, {
      page: drawPage,
      runners: drawRunners,
      events: (events) => addEvents(document.getElementById("events"), events, true),
      problem: (text) => actors.say(text, true),
    });
  }

  function wire() {
    const params = new URLSearchParams(location.search);
    for (const name of Object.keys(query)) {
      if (params.has(name)) query[name] = name === "page" || name === "size" ? Number(params.get(name)) : params.get(name);
    }
    document.getElementById("search").value = query.search;
    for (const header of document.querySelectorAll("#programs th[data-sort]")) {
      header.addEventListener("click", () => {
        const sort = header.dataset.sort;
        query.order = query.sort === sort && query.order === "asc" ? "desc" : "asc";
        query.sort = sort;
        query.page = 1;
        listen();
      });
    }
    document.getElementById("tag").addEventListener("change", (event) => {
      query.tag = event.target.value; query.page = 1; listen();
    });
    let typing = null;
    document.getElementById("search").addEventListener("input", (event) => {
      clearTimeout(typing);
      typing = setTimeout(() => { query.search = event.target.value; query.page = 1; listen(); }, 250);
    });
    document.getElementById("prev").addEventListener("click", () => { query.page -= 1; listen(); });
    document.getElementById("next").addEventListener("click", () => { query.page += 1; listen(); });
  }

  start().then(() => { wire(); listen(); }, (error) => actors.say(String(error), true));
})();
