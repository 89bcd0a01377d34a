// A program's page: its state, counters, timeline, load chart, next fire times, spawns,
// history and events, kept up to date by its own server-sent events stream.
"use strict";

(() => {
  const { act, addEvents, el, start, stream, when } = actors;
  const programId = decodeURIComponent(location.pathname.split("/")[2]);
  const base = `/programs/${encodeURIComponent(programId)}`;

  function fact(name, value) {
    return el("tr", { "data-fact": name }, el("th", { text: name }), el("td", { text: value }));
  }

  function draw(detail) {
    const program = detail.program;
    document.title = `actors: ${program.id}`;
    const status = document.getElementById("status");
    status.textContent = program.status;
    status.className = `status ${program.status}`;
    document.querySelector("#facts tbody").replaceChildren(
      fact("name", program.name), fact("schedule", program.schedule),
      fact("spawns n/min/max", program.spawn_counts), fact("runs", program.runs),
      fact("succeeded", program.succeeded), fact("failed", program.failed),
      fact("skipped", program.skipped), fact("missed", program.missed),
      fact("running", program.running), fact("last run", when(program.last_run)),
      fact("next run", when(program.next_run)), fact("owner", program.owner || "-"),
      fact("tags", program.tags.join(", ") || "-"), fact("last error", program.last_error || "-"));
    const state = typeof program.state === "string" ? program.state : JSON.stringify(program.state, null, 2);
    document.getElementById("state").textContent = state;
    document.getElementById("next-fires").replaceChildren(
      ...(detail.next_fires.length ? detail.next_fires.map((fire) => el("li", { text: when(fire), title: fire }))
        : [el("li", { class: "dim", text: "none: it fires no more by itself" })]));
    document.getElementById("notes").replaceChildren(...detail.notes.map((note) => el("li", { text: note })));
    // The pictures are drawn (and escaped) by the server.
    document.getElementById("timeline").innerHTML = detail.timeline_svg;
    const chart = document.getElementById("chart");
    if (detail.chart_svg) chart.innerHTML = detail.chart_svg;
    else chart.replaceChildren(el("p", { class: "dim", text: "no LoadMonitor watches this program" }));
    document.querySelector("#spawns tbody").replaceChildren(...detail.spawns.map((spawn) => el("tr", { "data-id": spawn.id },
      el("td", { text: spawn.id }), el("td", { text: spawn.status }), el("td", { text: when(spawn.started_at) }),
      el("td", { class: "number", text: spawn.runs }), el("td", { class: "number", text: spawn.succeeded }),
      el("td", { class: "number", text: spawn.failed }), el("td", { text: spawn.last_error || "" }),
      el("td", { text: spawn.node || "" }),
      el("td", {}, el("button", { type: "button", "data-action": "kill", text: "kill",
        onclick: () => act(`${base}/spawns/${encodeURIComponent(spawn.id)}/kill`) })))));
    document.querySelector("#history tbody").replaceChildren(...detail.history.map((run) => el("tr",
      { "data-id": run.id, class: run.status === "failed" ? "error" : null },
      el("td", { text: run.id }), el("td", { class: "number", text: run.attempt }),
      el("td", { class: `status ${run.status}`, text: run.status }), el("td", { text: run.spawn || "-" }),
      el("td", { text: when(run.scheduled_at) }), el("td", { text: when(run.started_at) }),
      el("td", { text: when(run.finished_at) }),
      el("td", { class: run.error ? "bad" : null, text: run.error || run.result || "" }))));
  }

  function wire() {
    document.getElementById("program-id").textContent = programId;
    for (const button of document.querySelectorAll(".actions button[data-action]")) {
      button.addEventListener("click", () => {
        const action = button.dataset.action;
        const n = Number(document.getElementById("n").value);
        act(`${base}/${action}`, action === "spawn" || action === "unspawn" ? { n } : undefined);
      });
    }
  }

  start().then(() => {
    wire();
    stream(`/api/stream${base}`, {
      program: draw,
      events: (events) => addEvents(document.getElementById("events"), events, false),
      problem: (text) => actors.say(text, true),
    });
  }, (error) => actors.say(String(error), true));
})();
