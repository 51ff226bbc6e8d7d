/* The clip editor of one Q&A (templates/video/_editor.html): its stretch of the video on a strip, with the
   waveform (worked out once per video by the server) and the words; two handles that snap to word edges,
   dragged with a mouse or a finger, or moved a word at a time with the arrow keys and the buttons. Each
   change is one request: a drag when it ends, a run of key presses once they pause. The server marks the
   old clips out of date at once; "Play the range" plays it with the page's player (from the start, paused
   at the end), and "Cut again" cuts it and says what it started. */
import { Clipper } from "../common.js";

const { api, clock } = Clipper;

const SAVE_AFTER_KEYS_MS = 600; // a run of key presses or nudges is saved once they pause this long
const MARGIN_SECONDS = 5; // the strip shows at least this much before and after the Q&A
const MIN_SECONDS = 0.2; // the shortest range the handles allow
const READABLE_PPS = 60; // pixels per second at which words can be read
const MAX_PPS = 400;
const MIN_PPS = 2;
const WAVE_HEIGHT = 72;
const EDGE_SCROLL_PX = 36; // dragging this close to the strip's side scrolls it
const ENDS_SENTENCE = /[.?!…]["'”’»)\]]*$/;

export class Editor {
  constructor(player, { onChanged, cutAgain }) {
    this.player = player;
    this.onChanged = onChanged; // the Q&A changed on the server: the page fetches its sections again
    this.cutAgain = cutAgain; // (exchange id) → the API's answer; it says what started
    this.card = document.getElementById("editor-card");
    this.videoId = Number(this.card.dataset.videoId);
    this.strip = document.getElementById("editor-strip");
    this.track = document.getElementById("editor-track");
    this.canvas = document.getElementById("editor-wave");
    this.wordBox = document.getElementById("editor-words");
    this.playhead = this.card.querySelector(".editor-playhead");
    this.handles = { start: this.card.querySelector('.editor-handle[data-edge="start"]'), end: this.card.querySelector('.editor-handle[data-edge="end"]') };
    this.exchange = null; // {id, title, start, end} as the server has it
    this.range = [0, 0]; // as shown: ahead of the server while a change is being saved
    this.words = []; // the transcript's words in time order: {start, end, text, speaker}
    this.window = [0, 0]; // the stretch the strip shows, in seconds
    this.pps = READABLE_PPS; // pixels per second
    this.peaks = null; // {start, perSecond, values, top}
    this.dragging = null;
    this.saving = false;
    this.saveAgain = false;
    this.saveTimer = null;
    this.previewEnd = null; // while the range plays: where to pause
    this.question = null; // the server's question for the saved range
    this.wire();
  }

  wire() {
    document.getElementById("editor-close").addEventListener("click", () => this.close());
    document.getElementById("editor-play").addEventListener("click", () => this.togglePreview());
    document.getElementById("editor-cut").addEventListener("click", () => this.cut());
    this.card.addEventListener("click", (event) => {
      const nudge = event.target.closest("[data-nudge]");
      if (nudge) return this.step(nudge.dataset.nudge, Number(nudge.dataset.way), 1);
      const zoom = event.target.closest("[data-zoom]");
      if (zoom) return this.zoom(Number(zoom.dataset.zoom));
      const word = event.target.closest(".editor-word");
      if (word) this.seek(Number(word.dataset.start));
    });
    for (const [edge, handle] of Object.entries(this.handles)) {
      handle.addEventListener("pointerdown", (event) => this.grab(event, edge));
      handle.addEventListener("pointermove", (event) => this.drag(event));
      handle.addEventListener("pointerup", (event) => this.drop(event));
      handle.addEventListener("pointercancel", (event) => this.drop(event));
      handle.addEventListener("keydown", (event) => this.key(event, edge));
    }
    this.strip.addEventListener("scroll", () => this.draw(), { passive: true });
    window.addEventListener("resize", () => this.exchange && this.layout());
    this.player.addEventListener("timeupdate", () => this.showPlayhead());
    this.player.addEventListener("pause", () => this.endPreview());
  }

  get isOpen() {
    return this.exchange !== null;
  }

  /** Open the editor on the Q&A of an "Edit" button (its id, title, start and end are on it). */
  open(button) {
    this.flush();
    const data = button.dataset;
    this.exchange = { id: Number(data.exchange), title: data.title, start: Number(data.start), end: Number(data.end) };
    this.range = [this.exchange.start, this.exchange.end];
    this.question = null;
    this.words = readWords();
    const last = Math.max(this.exchange.end, ...this.words.map((word) => word.end), 0);
    const duration = Number.isFinite(this.player.duration) && this.player.duration > 0 ? this.player.duration : last;
    const margin = Math.max(MARGIN_SECONDS, (this.exchange.end - this.exchange.start) * 0.15);
    this.window = [Math.max(0, this.exchange.start - margin), Math.min(Math.max(duration, this.exchange.end), this.exchange.end + margin)];
    document.getElementById("editor-title").textContent = `Edit ${this.exchange.title}`;
    for (const [edge, handle] of Object.entries(this.handles)) {
      handle.setAttribute("aria-label", `${edge === "start" ? "Start" : "End"} of ${this.exchange.title}`);
    }
    this.status("");
    this.card.classList.remove("d-none");
    this.peaks = null;
    this.fit();
    this.layout();
    this.strip.scrollLeft = Math.max(0, this.x(this.range[0]) - 60);
    this.card.scrollIntoView({ block: "nearest" });
    this.handles.start.focus({ preventScroll: true });
    this.loadPeaks();
  }

  close() {
    this.flush();
    this.endPreview(true);
    this.exchange = null;
    this.card.classList.add("d-none");
  }

  /** The transcript changed (a corrected line): the words on the strip follow. */
  wordsChanged() {
    if (!this.isOpen) return;
    this.words = readWords();
    this.layout();
  }

  /** A phase-2 step event: when this Q&A's new cut lands, say so. */
  stepChanged(event) {
    if (!this.isOpen || event.exchange_id !== this.exchange.id || event.name !== "cut_clips") return;
    if (event.state === "done") this.status(`The new clips of ${this.exchange.title} are ready under Clips.`, "success");
    if (event.state === "error") this.status(`Cutting ${this.exchange.title} failed: ${event.error || "see the Q&A's steps"}`, "danger");
  }

  // ---- geometry ------------------------------------------------------------------------------

  x(seconds) {
    return (seconds - this.window[0]) * this.pps;
  }

  timeAt(clientX) {
    return this.window[0] + (clientX - this.track.getBoundingClientRect().left) / this.pps;
  }

  /** Words readable when the whole stretch does not fit; the whole stretch when it fits at that size. */
  fit() {
    const span = Math.max(this.window[1] - this.window[0], 1);
    this.pps = Math.min(MAX_PPS, Math.max(READABLE_PPS, this.strip.clientWidth / span));
  }

  zoom(factor) {
    const middle = this.timeAt(this.strip.getBoundingClientRect().left + this.strip.clientWidth / 2);
    this.pps = Math.min(MAX_PPS, Math.max(MIN_PPS, this.pps * factor));
    this.layout();
    this.strip.scrollLeft = Math.max(0, this.x(middle) - this.strip.clientWidth / 2);
  }

  /** Everything on the strip placed again (after opening, zooming, a resize or new words). */
  layout() {
    this.track.style.width = `${Math.ceil(this.x(this.window[1]))}px`;
    const shown = this.words.filter((word) => word.end > this.window[0] && word.start < this.window[1]);
    this.wordBox.replaceChildren(...shown.map((word, index) => {
      const node = document.createElement("span");
      node.className = `editor-word${index % 2 ? " lower" : ""}`;
      node.dataset.start = word.start;
      node.dataset.end = word.end;
      node.style.left = `${this.x(word.start)}px`;
      // Words alternate between two rows, so each may take the room up to the next word on its own row.
      const room = (shown[index + 2] ? shown[index + 2].start : word.end) - word.start;
      node.style.width = `${Math.max(2, Math.max(room, word.end - word.start) * this.pps - 2)}px`;
      node.textContent = word.text;
      node.title = `${word.text} (${clock(word.start, 1)})`;
      return node;
    }));
    this.render();
  }

  /** The handles, the shading, the words inside, the texts and the times, for the range as shown. */
  render() {
    const [start, end] = this.range;
    this.handles.start.style.left = `${this.x(start)}px`;
    this.handles.end.style.left = `${this.x(end)}px`;
    this.card.querySelector('.editor-shade[data-side="before"]').style.width = `${Math.max(0, this.x(start))}px`;
    const after = this.card.querySelector('.editor-shade[data-side="after"]');
    after.style.left = `${this.x(end)}px`;
    after.style.width = `${Math.max(0, this.x(this.window[1]) - this.x(end))}px`;
    for (const node of this.wordBox.children) {
      const middle = (Number(node.dataset.start) + Number(node.dataset.end)) / 2;
      node.classList.toggle("in", middle >= start && middle <= end);
    }
    for (const [edge, handle] of Object.entries(this.handles)) {
      const value = edge === "start" ? start : end;
      handle.setAttribute("aria-valuemin", this.window[0].toFixed(2));
      handle.setAttribute("aria-valuemax", this.window[1].toFixed(2));
      handle.setAttribute("aria-valuenow", value.toFixed(2));
      handle.setAttribute("aria-valuetext", clock(value, 1));
    }
    document.getElementById("editor-range").textContent = `${clock(start, 1)} – ${clock(end, 1)} (${(end - start).toFixed(1)} s)`;
    const { question, answer } = this.texts();
    document.getElementById("editor-question").textContent = question || "—";
    document.getElementById("editor-answer").textContent = answer || "—";
    this.draw();
  }

  /** The question and the answer the range holds: the first speaker's words up to their last question
      (the server's own question once the range is saved), then the rest. */
  texts() {
    const [start, end] = this.range;
    const inside = this.words.filter((word) => (word.start + word.end) / 2 >= start && (word.start + word.end) / 2 <= end);
    if (!inside.length) return { question: "", answer: "" };
    const opening = [];
    for (const word of inside) {
      if (word.speaker !== inside[0].speaker) break;
      opening.push(word);
    }
    let upTo = opening.length;
    for (let index = opening.length - 1; index >= 0; index -= 1) {
      if (ENDS_SENTENCE.test(opening[index].text) && opening[index].text.includes("?")) {
        upTo = index + 1;
        break;
      }
    }
    const saved = this.question !== null && start === this.exchange.start && end === this.exchange.end;
    const question = saved ? this.question : join(opening.slice(0, upTo));
    return { question: shorten(question, 300), answer: shorten(join(inside.slice(upTo)), 300) };
  }

  // ---- the waveform ---------------------------------------------------------------------------

  async loadPeaks() {
    const id = this.exchange.id;
    const [from, to] = this.window;
    const response = await api("GET", `/api/videos/${this.videoId}/waveform?start=${from.toFixed(2)}&end=${to.toFixed(2)}`);
    if (!this.isOpen || this.exchange.id !== id) return;
    if (!response.ok) {
      this.status(`No waveform: ${response.error}`, "secondary");
      return;
    }
    const values = response.data.peaks;
    this.peaks = { start: response.data.start, perSecond: response.data.per_second, values, top: Math.max(8, ...values) };
    this.card.dataset.waveform = "ready";
    this.draw();
  }

  /** The visible part of the waveform, a bar per pixel, in the accent colour inside the range. */
  draw() {
    if (!this.isOpen) return;
    const width = this.strip.clientWidth;
    const ratio = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * ratio)) {
      this.canvas.width = Math.round(width * ratio);
      this.canvas.height = Math.round(WAVE_HEIGHT * ratio);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${WAVE_HEIGHT}px`;
    }
    const context = this.canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, WAVE_HEIGHT);
    const styles = getComputedStyle(this.card);
    const inside = styles.getPropertyValue("--bs-primary").trim() || "#0d6efd";
    const outside = styles.getPropertyValue("--bs-secondary-color").trim() || "#6c757d";
    const [start, end] = this.range;
    const left = this.strip.scrollLeft;
    if (!this.peaks) {
      context.fillStyle = outside;
      context.fillRect(0, WAVE_HEIGHT / 2, width, 1);
      return;
    }
    const { start: first, perSecond, values, top } = this.peaks;
    for (let column = 0; column < width; column += 1) {
      const from = this.window[0] + (left + column) / this.pps;
      const i0 = Math.floor((from - first) * perSecond);
      const i1 = Math.max(i0 + 1, Math.ceil((from + 1 / this.pps - first) * perSecond));
      let loudest = 0;
      for (let index = Math.max(0, i0); index < Math.min(values.length, i1); index += 1) loudest = Math.max(loudest, values[index]);
      const height = Math.max(1, (loudest / top) * (WAVE_HEIGHT - 6));
      context.fillStyle = from >= start && from < end ? inside : outside;
      context.fillRect(column, (WAVE_HEIGHT - height) / 2, 1, height);
    }
  }

  showPlayhead() {
    if (!this.isOpen) return;
    const now = this.player.currentTime;
    const visible = now >= this.window[0] && now <= this.window[1];
    this.playhead.classList.toggle("d-none", !visible);
    if (visible) this.playhead.style.left = `${this.x(now)}px`;
  }

  // ---- moving the handles ---------------------------------------------------------------------

  /** Where an edge may go: the starts (or ends) of words on the strip, leaving the range at least
      MIN_SECONDS long; the strip's own ends when it has no words. */
  stops(edge) {
    const [start, end] = this.range;
    const inWindow = (time) => time >= this.window[0] - 0.001 && time <= this.window[1] + 0.001;
    const times = this.words.map((word) => (edge === "start" ? word.start : word.end)).filter(inWindow);
    const allowed = times.filter((time) => (edge === "start" ? time <= end - MIN_SECONDS : time >= start + MIN_SECONDS));
    return allowed.length ? allowed : [edge === "start" ? this.window[0] : this.window[1]];
  }

  moveTo(edge, seconds) {
    const stops = this.stops(edge);
    const nearest = stops.reduce((best, time) => (Math.abs(time - seconds) < Math.abs(best - seconds) ? time : best), stops[0]);
    const range = [...this.range];
    range[edge === "start" ? 0 : 1] = nearest;
    if (range[0] === this.range[0] && range[1] === this.range[1]) return false;
    this.range = range;
    this.render();
    return true;
  }

  /** A word (or `count` words) earlier or later; saved once the presses pause. */
  step(edge, way, count) {
    if (!this.isOpen) return;
    const current = this.range[edge === "start" ? 0 : 1];
    const stops = [...new Set(this.stops(edge))].sort((a, b) => a - b);
    const ahead = way < 0 ? stops.filter((time) => time < current - 0.001).reverse() : stops.filter((time) => time > current + 0.001);
    if (!ahead.length) return;
    this.moveTo(edge, ahead[Math.min(count, ahead.length) - 1]);
    this.keepInView(edge);
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.save(), SAVE_AFTER_KEYS_MS);
  }

  key(event, edge) {
    const way = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 }[event.key];
    if (way === undefined) return;
    event.preventDefault();
    event.stopPropagation(); // not the player's arrow keys
    this.step(edge, way, event.shiftKey ? 5 : 1);
  }

  keepInView(edge) {
    const x = this.x(this.range[edge === "start" ? 0 : 1]);
    if (x < this.strip.scrollLeft + 30 || x > this.strip.scrollLeft + this.strip.clientWidth - 30) {
      this.strip.scrollLeft = Math.max(0, x - this.strip.clientWidth / 2);
    }
  }

  grab(event, edge) {
    event.preventDefault();
    this.handles[edge].setPointerCapture(event.pointerId);
    this.handles[edge].focus({ preventScroll: true });
    this.dragging = { edge, pointer: event.pointerId };
    this.card.classList.add("dragging");
  }

  drag(event) {
    if (!this.dragging || event.pointerId !== this.dragging.pointer) return;
    const box = this.strip.getBoundingClientRect();
    if (event.clientX < box.left + EDGE_SCROLL_PX) this.strip.scrollLeft -= 12;
    if (event.clientX > box.right - EDGE_SCROLL_PX) this.strip.scrollLeft += 12;
    this.moveTo(this.dragging.edge, this.timeAt(event.clientX));
  }

  /** A drag ends: one request for it. */
  drop(event) {
    if (!this.dragging || event.pointerId !== this.dragging.pointer) return;
    this.dragging = null;
    this.card.classList.remove("dragging");
    this.save();
  }

  // ---- saving, playing, cutting -----------------------------------------------------------------

  /** A pending run of key presses is saved now (before closing, cutting or opening another Q&A). */
  flush() {
    if (this.saveTimer === null) return null;
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    return this.save();
  }

  /** One PATCH with the edges that moved; a change made while it is in flight is sent after it. */
  async save() {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (!this.isOpen) return;
    if (this.saving) {
      this.saveAgain = true;
      return;
    }
    const exchange = this.exchange;
    const [start, end] = this.range;
    const body = {};
    if (Math.abs(start - exchange.start) > 0.0005) body.start = start;
    if (Math.abs(end - exchange.end) > 0.0005) body.end = end;
    if (!Object.keys(body).length) return;
    this.saving = true;
    this.card.dataset.saving = "yes";
    this.status("Saving…", "secondary");
    const response = await api("PATCH", `/api/exchanges/${exchange.id}`, body);
    this.saving = false;
    delete this.card.dataset.saving;
    if (this.exchange !== exchange) return; // closed, or another Q&A opened meanwhile
    if (response.ok) {
      Object.assign(exchange, { start: response.data.start, end: response.data.end });
      this.question = response.data.question || "";
      if (!this.saveAgain) this.range = [exchange.start, exchange.end];
      this.render();
      this.status(`Saved: ${clock(exchange.start, 1)} – ${clock(exchange.end, 1)}. The clips cut before are marked out of date; play the range, then Cut again.`, "body");
      this.onChanged();
    } else {
      this.range = [exchange.start, exchange.end];
      this.render();
      this.status(response.error, "danger");
    }
    if (this.saveAgain) {
      this.saveAgain = false;
      this.save();
    }
  }

  seek(seconds) {
    if (!this.player.getAttribute("src")) return this.status("The video plays here once it is downloaded.", "secondary");
    this.player.currentTime = seconds;
    this.player.play().catch(() => {});
    return null;
  }

  /** Play the range as it is now with the page's player: from its start, paused at its end. */
  togglePreview() {
    if (this.previewEnd !== null) return this.endPreview(true);
    if (!this.player.getAttribute("src")) return this.status("The video plays here once it is downloaded.", "secondary");
    const [start, end] = this.range;
    this.previewEnd = end;
    this.player.currentTime = start;
    this.player.play().catch(() => this.endPreview());
    this.setPlayButton(true);
    const watch = () => {
      if (this.previewEnd === null) return;
      if (this.player.currentTime >= this.previewEnd - 0.02) return this.endPreview(true);
      this.showPlayhead();
      requestAnimationFrame(watch);
    };
    requestAnimationFrame(watch);
    return null;
  }

  endPreview(pause = false) {
    if (this.previewEnd === null) return;
    this.previewEnd = null;
    if (pause) this.player.pause();
    this.setPlayButton(false);
  }

  setPlayButton(playing) {
    const button = document.getElementById("editor-play");
    button.querySelector("i").className = `bi ${playing ? "bi-stop-fill" : "bi-play-fill"}`;
    button.querySelector("span").textContent = playing ? "Stop" : "Play the range";
  }

  /** Save what is pending, then cut: the server says what it started. */
  async cut() {
    if (!this.isOpen) return;
    const button = document.getElementById("editor-cut");
    button.disabled = true;
    try {
      await this.flush();
      while (this.saving) await new Promise((resolve) => setTimeout(resolve, 50));
      const response = await this.cutAgain(this.exchange.id);
      this.status(response.ok ? response.data.message : response.error, response.ok ? "primary" : "danger");
    } finally {
      button.disabled = false;
    }
  }

  status(text, kind = "body") {
    const box = document.getElementById("editor-status");
    box.className = `small mt-1 text-${kind === "body" ? "body" : kind === "secondary" ? "body-secondary" : `${kind}-emphasis`}`;
    box.textContent = text;
  }
}

/** The transcript's words as the page shows them, with their line's speaker; a line without word times
    counts as one word. */
function readWords() {
  const words = [];
  for (const segment of document.querySelectorAll("#transcript .segment")) {
    const speaker = segment.dataset.speaker || "";
    const nodes = segment.querySelectorAll(".seg-text .w");
    if (!nodes.length) {
      const text = segment.querySelector(".seg-text")?.textContent.trim() || "";
      words.push({ start: Number(segment.dataset.start), end: Number(segment.dataset.end), text, speaker });
    }
    for (const node of nodes) words.push({ start: Number(node.dataset.start), end: Number(node.dataset.end), text: node.textContent.trim(), speaker });
  }
  return words.sort((a, b) => a.start - b.start);
}

function join(words) {
  return words.map((word) => word.text).join(" ").replace(/\s+([,.;:!?%)\]}…])/g, "$1");
}

function shorten(text, limit) {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}
