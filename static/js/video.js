/* A video's details page: pipeline control panel, player, transcript, speakers, exchanges and clips,
   all kept live from /events?video=<id>. Data comes from the JSON API; every text is set with
   textContent. */
"use strict";

(() => {
  const { api, el, icon, clock, span, setState, debounce, Recorder, LiveStream } = Clipper;

  const page = JSON.parse(document.getElementById("page-data").textContent);
  const videoId = page.video.id;
  const state = { video: page.video, exchanges: [], speakers: [], segments: [], clips: new Map(), deleted: false };

  const $ = (id) => document.getElementById(id);
  const player = $("player");
  const panel = $("control-panel");

  function showPageError(message) {
    const box = $("page-alert");
    box.textContent = message;
    box.classList.toggle("d-none", !message);
  }

  // ---- video and pipeline control panel --------------------------------------------------------

  function renderPanel() {
    for (const step of state.video.steps) {
      const row = panel.querySelector(`.step-row[data-step="${step.name}"]`);
      if (!row) continue;
      row.dataset.state = step.state;
      const badge = row.querySelector(".step-state");
      setState(badge, step.state);
      badge.textContent = step.state === "running" ? `running ${Math.round(step.progress * 100)}%` : step.state;
      const bar = row.querySelector(".step-progress-bar");
      bar.classList.toggle("d-none", step.state !== "running");
      bar.querySelector(".progress-bar").style.width = `${(step.progress * 100).toFixed(1)}%`;
      row.querySelector(".step-time").textContent = stepTime(step);
      const error = row.querySelector(".step-error");
      error.textContent = step.state === "error" ? step.error || "failed (no message recorded)" : "";
      error.classList.toggle("d-none", step.state !== "error");
      const button = row.querySelector(".step-run");
      const todo = allowed(step);
      button.textContent = todo.label;
      button.disabled = !todo.enabled;
      button.title = todo.reason;
    }
    const status = $("video-status");
    status.textContent = state.video.status;
    setState(status, state.video.status);
  }

  /** What may be done with a step, as the server said (`step.action`); a step an event just showed
      under way, or a deleted video, may not be run until the next refetch says otherwise. */
  function allowed(step) {
    const action = step.action || { label: "Run", enabled: false, reason: "" };
    const busy = step.state === "queued" || step.state === "running";
    if (state.deleted) return { ...action, enabled: false };
    return busy ? { ...action, enabled: false, reason: "under way" } : action;
  }

  function stepTime(step) {
    if (step.state === "running") return `running for ${span(step.started_at)}`;
    if (step.state === "queued") return step.queued_at ? `queued ${span(step.queued_at)} ago` : "queued";
    if ((step.state === "done" || step.state === "error" || step.state === "stale") && step.started_at && step.finished_at) {
      return `took ${span(step.started_at, step.finished_at)}`;
    }
    return "";
  }

  function applyVideo(video) {
    state.video = video;
    $("video-title").textContent = video.title || video.url;
    document.title = `${video.title || video.url} · Clipper`;
    setField("uploader", video.uploader || "—");
    setField("duration", video.duration ? clock(video.duration) : "—");
    setField("language", video.language || "—");
    const size = document.querySelector('[data-field="size"]');
    if (size && video.width) size.firstChild.textContent = `${video.width}×${video.height} `;
    if (video.video_path && !player.getAttribute("src")) {
      player.src = Clipper.url(`/media/videos/${videoId}`);
      player.classList.remove("d-none");
      $("player-empty").classList.add("d-none");
    }
    renderPanel();
    renderExchanges(); // phase-2 buttons depend on phase-1 states
  }

  function setField(name, text) {
    const node = document.querySelector(`[data-field="${name}"]`);
    if (node) node.textContent = text;
  }

  function applyPhase1Step(event) {
    recorder.record(event);
    const step = state.video.steps.find((item) => item.name === event.name);
    if (!step) return refetchVideo();
    const changed = step.state !== event.state;
    Object.assign(step, {
      id: event.id, state: event.state, progress: event.progress, attempts: event.attempts, error: event.error,
      started_at: event.started_at, finished_at: event.finished_at,
    });
    if (event.state === "queued" && !step.queued_at) step.queued_at = new Date().toISOString();
    if (event.video_status) state.video.status = event.video_status;
    renderPanel();
    if (changed) {
      // What may run next, here and in the exchanges, is the server's call (`step.action`).
      refetchVideo();
      refetchExchanges();
    }
    if (event.state === "done") {
      const follow = { download: [refetchVideo], audio: [refetchVideo], transcribe: [refetchTranscript],
        diarize: [refetchSpeakers, refetchTranscript], exchanges: [refetchExchanges, refetchTranscript] }[event.name] || [];
      for (const refetch of follow) refetch();
    }
  }

  panel.addEventListener("click", async (event) => {
    const button = event.target.closest(".step-run");
    if (!button) return;
    button.disabled = true;
    const response = await api("POST", `/api/videos/${videoId}/steps/${button.dataset.step}`);
    const row = button.closest(".step-row");
    row.querySelector(".step-feedback")?.remove();
    if (response.ok) {
      applyPhase1Step({ ...response.data.step, name: button.dataset.step });
    } else {
      row.append(el("div", { class: "step-feedback small text-danger mt-1" }, response.error));
      renderPanel();
    }
  });

  const recorder = new Recorder(); // step events that arrive while a refetch is in flight

  const refetchVideo = debounce(async () => {
    const [response, missed] = await recorder.during(() => api("GET", `/api/videos/${videoId}`));
    if (response.ok) applyVideo(response.data);
    else if (response.status === 404) markDeleted();
    for (const event of missed) if (!event.exchange_id) applyPhase1Step(event);
  });

  function markDeleted() {
    state.deleted = true;
    $("deleted-alert").classList.remove("d-none");
    for (const button of document.querySelectorAll("#video-page button")) button.disabled = true;
  }

  setInterval(() => {
    for (const step of state.video.steps) {
      if (step.state === "running" || step.state === "queued") {
        const row = panel.querySelector(`.step-row[data-step="${step.name}"]`);
        if (row) row.querySelector(".step-time").textContent = stepTime(step);
      }
    }
  }, 1000);

  // ---- speakers --------------------------------------------------------------------------------

  function speakerOf(label) {
    return state.speakers.find((speaker) => speaker.label === label);
  }

  function speakerChip(label, name) {
    const speaker = speakerOf(label);
    const color = speaker ? speaker.color : "#adb5bd";
    return el("span", { class: "speaker-chip", style: { color } },
      el("span", { class: "speaker-swatch", style: { background: color } }), name || (speaker && speaker.name) || label || "unknown");
  }

  function renderSpeakers() {
    const box = $("speakers");
    if (!state.speakers.length) {
      box.replaceChildren(el("p", { class: "text-body-secondary small mb-0" }, "Speakers appear when the diarize step is done."));
      return;
    }
    box.replaceChildren(...state.speakers.map((speaker) => {
      const input = el("input", { class: "form-control form-control-sm", value: speaker.name === speaker.label ? "" : speaker.name,
        placeholder: speaker.label, "aria-label": `Name of ${speaker.label}`, maxlength: "80", name: "name" });
      const feedback = el("div", { class: "small w-100" });
      const form = el("form", { class: "speaker-row d-flex flex-wrap align-items-center gap-2 mb-2", dataset: { label: speaker.label } },
        el("span", { class: "speaker-swatch", style: { background: speaker.color }, title: speaker.color }),
        el("code", { class: "small text-body-secondary", style: { minWidth: "7rem" } }, speaker.label),
        el("div", { class: "flex-grow-1" }, input),
        el("button", { type: "submit", class: "btn btn-sm btn-outline-primary" }, "Rename"),
        feedback);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const response = await api("PUT", `/api/videos/${videoId}/speakers/${encodeURIComponent(speaker.label)}`, { name: input.value });
        feedback.replaceChildren();
        if (!response.ok) {
          feedback.append(el("span", { class: "text-danger" }, response.error));
          return;
        }
        Object.assign(speaker, response.data.speaker);
        feedback.append(el("span", { class: "text-success" }, Clipper.icon("bi-check-lg"), ` Saved as ${speaker.name}`));
        refetchTranscript();
        renderExchanges();
      });
      return form;
    }));
  }

  const refetchSpeakers = debounce(async () => {
    const response = await api("GET", `/api/videos/${videoId}/speakers`);
    if (!response.ok) return;
    state.speakers = response.data.speakers || [];
    renderSpeakers();
    renderTranscript();
    renderExchanges();
  });

  // ---- transcript and manual exchanges ---------------------------------------------------------

  const transcriptBox = $("transcript");
  const startInput = $("manual-start");
  const endInput = $("manual-end");
  const manualResult = $("manual-result");
  let firstPick = null;
  let chosen = null;

  function renderTranscript() {
    const segments = state.segments;
    $("transcript-downloads").classList.toggle("d-none", !segments.length);
    if (!segments.length) {
      transcriptBox.replaceChildren(el("p", { class: "text-body-secondary mb-0" }, "No transcript yet: it appears when the transcribe step is done."));
      return;
    }
    const nodes = segments.map((segment, index) => {
      const speaker = speakerOf(segment.speaker);
      const node = el("div", { class: "segment", dataset: { index: String(index) } },
        el("button", { type: "button", class: "btn btn-link btn-sm seg-time text-decoration-none", title: `Play from ${clock(segment.start, 1)}` },
          clock(segment.start)),
        el("div", { class: "seg-body" },
          segment.speaker ? speakerChip(segment.speaker, segment.speaker_name) : null,
          el("span", { class: "seg-text" }, segment.text)));
      if (speaker) node.style.setProperty("--speaker", speaker.color);
      return node;
    });
    transcriptBox.replaceChildren(...nodes);
    markChosen();
  }

  function markChosen() {
    for (const node of transcriptBox.querySelectorAll(".segment.chosen")) node.classList.remove("chosen");
    if (!chosen) return;
    for (let index = chosen[0]; index <= chosen[1]; index += 1) {
      transcriptBox.querySelector(`.segment[data-index="${index}"]`)?.classList.add("chosen");
    }
  }

  function seek(seconds) {
    if (!player.getAttribute("src")) return;
    player.currentTime = seconds;
    player.play().catch(() => {});
  }

  function timeValue(seconds) {
    return clock(seconds, 2);
  }

  transcriptBox.addEventListener("click", (event) => {
    const node = event.target.closest(".segment");
    if (!node) return;
    const index = Number(node.dataset.index);
    const segment = state.segments[index];
    if (event.target.closest(".seg-time")) return seek(segment.start);
    if (firstPick === null) {
      firstPick = index;
      chosen = [index, index];
      startInput.value = timeValue(segment.start);
      endInput.value = "";
      manualResult.replaceChildren(el("span", { class: "text-body-secondary" }, `Start set to ${timeValue(segment.start)}: now click the segment where the exchange ends.`));
    } else {
      const first = Math.min(firstPick, index);
      const last = Math.max(firstPick, index);
      chosen = [first, last];
      startInput.value = timeValue(state.segments[first].start);
      endInput.value = timeValue(state.segments[last].end);
      firstPick = null;
      manualResult.replaceChildren(el("span", { class: "text-body-secondary" }, `From ${startInput.value} to ${endInput.value}: press + to add the exchange.`));
    }
    markChosen();
  });

  $("manual-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const start = startInput.value.trim();
    const end = endInput.value.trim();
    if (!start || !end) {
      manualResult.replaceChildren(el("span", { class: "text-danger" }, "Set a start and an end (seconds or mm:ss), or click two transcript segments."));
      return;
    }
    const response = await api("POST", `/api/videos/${videoId}/exchanges`, { start, end, process: $("manual-process").checked });
    if (!response.ok) {
      manualResult.replaceChildren(el("span", { class: "text-danger" }, response.error));
      return;
    }
    const exchange = response.data.exchange;
    manualResult.replaceChildren(el("span", { class: "text-success" }, icon("bi-check-lg"), ` Added ${exchange.label} (${clock(exchange.start, 1)} – ${clock(exchange.end, 1)}).`));
    startInput.value = "";
    endInput.value = "";
    chosen = null;
    firstPick = null;
    markChosen();
    refetchExchanges();
  });

  const refetchTranscript = debounce(async () => {
    const response = await api("GET", `/api/videos/${videoId}/transcript`);
    if (!response.ok) return;
    state.segments = response.data.segments || [];
    const note = $("transcript-note");
    note.textContent = response.data.note || "";
    note.classList.toggle("d-none", !response.data.note);
    $("transcript-language").textContent = response.data.language || "";
    renderTranscript();
  });

  let playing = -1;
  player.addEventListener("timeupdate", () => {
    const now = player.currentTime;
    const index = state.segments.findIndex((segment) => segment.start <= now && now < segment.end);
    if (index === playing) return;
    transcriptBox.querySelector(".segment.playing")?.classList.remove("playing");
    playing = index;
    if (index >= 0) transcriptBox.querySelector(`.segment[data-index="${index}"]`)?.classList.add("playing");
  });

  // ---- exchanges -------------------------------------------------------------------------------

  const exchangesBody = $("exchanges");

  function phase2Buttons(exchange) {
    const group = el("div", { class: "btn-group btn-group-sm", role: "group", "aria-label": `Steps of ${exchange.label}` });
    const notes = [];
    for (const { name, title: stepTitle, icon: stepIcon } of page.phase2_steps) {
      const step = exchange.steps.find((item) => item.name === name) || { name, state: "pending", progress: 0 };
      const todo = allowed(step);
      const title = `${stepTitle}: ${step.state}${todo.reason ? ` (${todo.reason})` : ` — click to ${todo.label.toLowerCase()}`}`;
      const button = el("button", { type: "button", class: `btn state-${step.state} phase2-step`, title, "aria-label": title,
        dataset: { exchange: String(exchange.id), step: name, state: step.state } }, icon(stepIcon));
      button.disabled = !todo.enabled;
      group.append(button);
      if (step.state === "running") notes.push(el("div", { class: "small text-primary" }, `${stepTitle} ${Math.round(step.progress * 100)}%`));
      if (step.state === "error") notes.push(el("div", { class: "small text-danger step-error" }, `${stepTitle}: ${step.error || "failed"}`));
    }
    return el("div", { class: "phase2" }, group, ...notes);
  }

  function renderExchanges() {
    const exchanges = state.exchanges;
    $("exchange-count").textContent = String(exchanges.length);
    const waiting = state.video.exchanges_waiting;
    $("process-all").disabled = !exchanges.length || Boolean(waiting) || state.deleted;
    $("process-all").title = waiting;
    if (!exchanges.length) {
      exchangesBody.replaceChildren(el("tr", { class: "empty-row" }, el("td", { colspan: "5", class: "text-center text-body-secondary py-4" },
        "No exchanges yet: they appear when the exchanges step is done, or add one by hand.")));
      return;
    }
    exchangesBody.replaceChildren(...exchanges.map((exchange) => el("tr", { dataset: { exchangeId: String(exchange.id) } },
      el("td", {}, el("span", { class: "fw-semibold" }, exchange.label), " ",
        el("span", { class: `badge ${exchange.kind === "manual" ? "text-bg-info" : "text-bg-light border"}` }, exchange.kind)),
      el("td", { class: "exchange-time" },
        el("button", { type: "button", class: "btn btn-link btn-sm p-0 seek", dataset: { start: String(exchange.start) } },
          `${clock(exchange.start, 1)} – ${clock(exchange.end, 1)}`),
        el("div", { class: "small text-body-secondary" }, `${Math.round(exchange.end - exchange.start)} s`)),
      el("td", {}, exchange.asker ? speakerChip(exchange.asker) : null, exchange.asker && exchange.answerer ? " → " : "",
        exchange.answerer ? speakerChip(exchange.answerer) : null, exchange.asker || exchange.answerer ? null : "—"),
      el("td", { class: "exchange-question small" }, exchange.question || ""),
      el("td", {}, phase2Buttons(exchange)))));
  }

  exchangesBody.addEventListener("click", async (event) => {
    const seekButton = event.target.closest(".seek");
    if (seekButton) return seek(Number(seekButton.dataset.start));
    const button = event.target.closest(".phase2-step");
    if (!button) return;
    button.disabled = true;
    const response = await api("POST", `/api/exchanges/${button.dataset.exchange}/steps/${button.dataset.step}`);
    if (response.ok) {
      applyPhase2Step({ ...response.data.step, exchange_id: Number(button.dataset.exchange), name: button.dataset.step });
    } else {
      showPageError(`${button.dataset.step}: ${response.error}`);
      renderExchanges();
    }
  });

  $("process-all").addEventListener("click", async () => {
    const response = await api("POST", `/api/videos/${videoId}/exchanges/process`);
    showPageError(response.ok ? "" : response.error);
    if (response.ok) refetchExchanges();
  });

  function applyPhase2Step(event) {
    recorder.record(event);
    const exchange = state.exchanges.find((item) => item.id === event.exchange_id);
    if (!exchange) return refetchExchanges();
    let step = exchange.steps.find((item) => item.name === event.name);
    if (!step) {
      step = { name: event.name };
      exchange.steps.push(step);
    }
    const changed = step.state !== event.state;
    Object.assign(step, { id: event.id, state: event.state, progress: event.progress, error: event.error,
      started_at: event.started_at, finished_at: event.finished_at });
    renderExchanges();
    if (changed) refetchExchanges(); // what may run next is the server's call (`step.action`)
    if (event.name === "cut_clips" && event.state === "done") refetchClips(exchange.id);
  }

  const refetchExchanges = debounce(async () => {
    const [response, missed] = await recorder.during(() => api("GET", `/api/videos/${videoId}/exchanges`));
    if (!response.ok) return;
    state.exchanges = response.data.exchanges || [];
    for (const event of missed) if (event.exchange_id && state.exchanges.some((item) => item.id === event.exchange_id)) applyPhase2Step(event);
    const note = $("exchanges-note");
    note.textContent = response.data.note || "";
    note.classList.toggle("d-none", !response.data.note);
    renderExchanges();
    for (const exchange of state.exchanges) {
      const cut = exchange.steps.find((step) => step.name === "cut_clips");
      if (cut && cut.state === "done") refetchClips(exchange.id);
    }
    const gone = [...state.clips.keys()].filter((id) => !state.exchanges.some((exchange) => exchange.id === id));
    for (const id of gone) state.clips.delete(id);
    if (gone.length) renderClips();
  });

  // ---- clips -----------------------------------------------------------------------------------

  async function refetchClips(exchangeId) {
    const response = await api("GET", `/api/exchanges/${exchangeId}/clips`);
    if (!response.ok) return;
    const clips = response.data.clips || [];
    if (JSON.stringify(clips) === JSON.stringify(state.clips.get(exchangeId))) return; // keep a playing clip playing
    state.clips.set(exchangeId, clips);
    renderClips();
  }

  function renderClips() {
    const box = $("clips");
    const groups = state.exchanges.filter((exchange) => (state.clips.get(exchange.id) || []).length);
    if (!groups.length) {
      box.replaceChildren(el("p", { class: "text-body-secondary small mb-0" }, "No clips yet: run ", icon("bi-scissors"), " cut clips on an exchange."));
      return;
    }
    box.replaceChildren(...groups.map((exchange) => el("section", { class: "mb-4", dataset: { exchangeId: String(exchange.id) } },
      el("h3", { class: "h6" }, exchange.label, " ", el("span", { class: "text-body-secondary fw-normal" }, `${clock(exchange.start, 1)} – ${clock(exchange.end, 1)}`)),
      el("div", { class: "row g-3" }, state.clips.get(exchange.id).map((clip) => el("div", { class: "col-sm-6 col-lg-4 col-xl-3" },
        el("div", { class: "card clip-card h-100 border" },
          clip.url ? el("video", { controls: true, preload: "metadata", src: Clipper.url(clip.url) },
            clip.vtt_url ? el("track", { kind: "subtitles", src: Clipper.url(clip.vtt_url), label: "Transcript", default: true }) : null) : null,
          el("div", { class: "card-body p-2 small" },
            el("div", { class: "d-flex align-items-center gap-2" },
              clip.kind === "exchange" ? el("span", { class: "badge text-bg-dark" }, "whole exchange") : speakerChip(clip.speaker, clip.speaker_name),
              el("span", { class: "ms-auto text-body-secondary" }, `${clock(clip.start, 1)} – ${clock(clip.end, 1)}`)),
            clip.note ? el("div", { class: "text-body-secondary mt-1" }, clip.note) : null,
            el("div", { class: "mt-2 d-flex gap-1" },
              clip.url ? el("a", { class: "btn btn-sm btn-outline-secondary", href: Clipper.url(clip.url), download: "" }, icon("bi-download"), " MP4") : null,
              clip.srt_url ? el("a", { class: "btn btn-sm btn-outline-secondary", href: Clipper.url(clip.srt_url), download: "" }, "SRT") : null,
              clip.vtt_url ? el("a", { class: "btn btn-sm btn-outline-secondary", href: Clipper.url(clip.vtt_url), download: "" }, "VTT") : null)))))))));
  }

  // ---- live updates ----------------------------------------------------------------------------

  let firstSnapshot = true;

  function applySnapshot(snapshot) {
    if ((snapshot.missing || []).includes(videoId)) return markDeleted();
    const video = (snapshot.videos || []).find((item) => item.id === videoId);
    if (video) applyVideo(video);
    for (const step of snapshot.exchange_steps || []) {
      const exchange = state.exchanges.find((item) => item.id === step.exchange_id);
      if (exchange) applyPhase2Step(step);
    }
    if (!firstSnapshot) refreshAll(); // after a gap, anything may have changed
    firstSnapshot = false;
  }

  function refreshAll() {
    refetchSpeakers();
    refetchTranscript();
    refetchExchanges();
  }

  new LiveStream(`/events?video=${videoId}`, (event) => {
    if (state.deleted) return;
    switch (event.type) {
      case "snapshot": return applySnapshot(event);
      case "step": return event.exchange_id ? applyPhase2Step(event) : applyPhase1Step(event);
      case "video": return refetchVideo();
      case "transcript": return refetchTranscript();
      case "speakers": refetchSpeakers(); return refetchTranscript();
      case "exchanges": return refetchExchanges();
      case "clips": return event.exchange_id ? refetchClips(event.exchange_id) : refetchExchanges();
      case "video_deleted": return markDeleted();
      default: return undefined;
    }
  });

  renderPanel();
  refreshAll();
})();
