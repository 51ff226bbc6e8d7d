/* The transcript with the player: click a word to play from there; the word being said is highlighted
   and followed; a drag across words (or shift-click on the first and the last, or with "Pick words" on a
   tap on each: a phone has no shift) picks a clip of your own, snapped to whole words, and fills the form
   that adds it. With "Fix words" on, a click opens its line to correct what Whisper misheard. */
import { Clipper } from "../common.js";

const { api, el, icon, clock } = Clipper;

export class Transcript {
  constructor(videoId, sections, player, onExchangeAdded, note = () => {}) {
    this.videoId = videoId;
    this.note = note;
    this.mode = null; // "pick": a click picks words for a clip; "fix": a click opens its line to correct
    this.fixing = null; // the segment whose line is being corrected
    this.sections = sections;
    this.player = player;
    this.onExchangeAdded = onExchangeAdded;
    this.card = sections.container("transcript");
    this.start = document.getElementById("manual-start");
    this.end = document.getElementById("manual-end");
    this.result = document.getElementById("manual-result");
    this.firstPick = null; // a shift-click's first word, until the second
    this.range = null; // [start, end] in seconds of the words picked, for the form and the highlight
    this.playing = -1;
    this.word = null;
    this.card.addEventListener("click", (event) => this.click(event));
    // Shift-click picks words one by one (below), so the browser must not extend its own selection.
    this.card.addEventListener("mousedown", (event) => event.shiftKey && event.target.closest(".segment") && event.preventDefault());
    this.card.addEventListener("pointerup", (event) => !event.shiftKey && this.selectWords());
    this.card.addEventListener("keyup", (event) => event.shiftKey && this.selectWords());
    document.addEventListener("keydown", (event) => this.key(event));
    document.getElementById("manual-form").addEventListener("submit", (event) => this.add(event));
    this.bar = document.getElementById("pick-bar"); // the words picked, with "Add as a Q&A" at hand
    document.getElementById("pick-add").addEventListener("click", () => this.add());
    document.getElementById("pick-clear").addEventListener("click", () => this.clearPick());
    player.addEventListener("timeupdate", () => this.follow());
    sections.hold("transcript", () => this.fixing !== null && this.fixing.isConnected);
    sections.after("transcript", () => {
      this.playing = -1;
      this.fixing = null;
      this.showMode();
      this.markPicked();
      this.follow();
    });
  }

  /** "Pick words" or "Fix words" on (the other goes off), or off when pressed again. */
  setMode(mode) {
    this.mode = this.mode === mode ? null : mode;
    this.firstPick = null;
    this.showMode();
    if (this.mode === "pick") this.say("text-body-secondary", "Tap the first word of the clip, then its last word.");
    if (this.mode === "fix") this.note("Click (or tap) a line to correct it.");
  }

  showMode() {
    for (const button of this.card.querySelectorAll(".transcript-mode")) {
      button.setAttribute("aria-pressed", String(button.dataset.mode === this.mode));
      button.classList.toggle("active", button.dataset.mode === this.mode);
    }
    this.card.querySelector("#transcript")?.classList.toggle("fixing", this.mode === "fix");
  }

  segments() {
    return [...this.card.querySelectorAll(".segment")];
  }

  seek = (seconds) => {
    if (!this.player.getAttribute("src")) return;
    this.player.currentTime = seconds;
    this.player.play().catch(() => {}); // out of view, the player docks as a mini player (player.js)
  };

  /** Click a word (or a segment's time) to play from there; shift-click a word to start picking a clip
      and shift-click the word it ends on. A click that ends a drag selection does not seek. */
  click(event) {
    const toggle = event.target.closest(".transcript-mode");
    if (toggle) return this.setMode(toggle.dataset.mode);
    if (event.target.closest(".fix-line")) return; // inside a line being corrected
    const node = event.target.closest(".segment");
    if (!node) return;
    const at = event.target.closest(".w") || node;
    const onTime = event.target.closest(".seg-time");
    if (this.mode === "fix" && !onTime) return this.openFix(node);
    if ((event.shiftKey || this.mode === "pick") && !onTime) return this.pick(at);
    if (!this.hasSelection()) this.seek(Number(at.dataset.start));
  }

  hasSelection() {
    const selection = window.getSelection();
    return Boolean(selection && !selection.isCollapsed && this.card.contains(selection.anchorNode));
  }

  /** The words a drag (or shift and the arrow keys) selected, snapped to whole words: they fill the form. */
  selectWords() {
    if (this.mode === "fix" || !this.hasSelection()) return;
    const selection = window.getSelection();
    const box = this.card.querySelector("#transcript");
    let units = [...box.querySelectorAll(".w")].filter((node) => selection.containsNode(node, true));
    if (!units.length) units = this.segments().filter((node) => selection.containsNode(node, true)); // no word times
    if (!units.length) return;
    this.firstPick = null;
    this.choose(Number(units[0].dataset.start), Number(units[units.length - 1].dataset.end));
  }

  pick(at) {
    const word = { start: Number(at.dataset.start), end: Number(at.dataset.end) };
    if (this.firstPick === null) {
      this.firstPick = word;
      this.range = [word.start, word.end];
      this.start.value = clock(word.start, 2);
      this.end.value = "";
      const how = this.mode === "pick" ? "tap" : "shift-click";
      this.say("text-body-secondary", `Start set to ${this.start.value}: now ${how} the word the clip ends on.`);
      this.showBar(`From ${this.start.value}: now ${how} the last word.`, false);
      return this.markPicked();
    }
    const first = this.firstPick;
    this.firstPick = null;
    this.choose(Math.min(first.start, word.start), Math.max(first.end, word.end));
  }

  choose(start, end) {
    this.range = [start, end];
    this.start.value = clock(start, 2);
    this.end.value = clock(end, 2);
    this.markPicked();
    const words = [...this.card.querySelectorAll(".w.picked")].map((node) => node.textContent.trim()).join(" ");
    const said = words.length > 140 ? `${words.slice(0, 139)}…` : words;
    this.say("text-body-secondary", `From ${this.start.value} to ${this.end.value} (${clock(end - start, 1)})${said ? `: “${said}”` : ""}. Press Add to add it.`);
    this.showBar(`${this.start.value} – ${this.end.value}${said ? `: “${said.length > 60 ? `${said.slice(0, 59)}…` : said}”` : ""}`, true);
  }

  showBar(text, ready) {
    document.getElementById("pick-text").textContent = text;
    document.getElementById("pick-add").disabled = !ready;
    this.bar.classList.remove("d-none");
  }

  clearPick() {
    this.range = null;
    this.firstPick = null;
    this.start.value = "";
    this.end.value = "";
    this.bar.classList.add("d-none");
    this.result.replaceChildren();
    this.markPicked();
  }

  /** A line opened for correcting: its text in a field, saved as one request; unchanged words keep their
      times on the server. The section is not swapped while it is open (sections.hold). */
  openFix(node) {
    if (this.fixing === node) return;
    this.closeFix();
    const text = node.querySelector(".seg-text");
    const time = node.querySelector(".seg-time").textContent.trim();
    const field = el("textarea", { class: "form-control form-control-sm", id: "fix-text", rows: "2" });
    field.value = text.textContent.replace(/\s+/g, " ").trim();
    const feedback = el("span", { class: "small fix-feedback", role: "status" });
    const form = el("form", { class: "fix-line mt-1", "data-segment": node.dataset.id },
      el("label", { class: "visually-hidden", for: "fix-text" }, `Correct the line at ${time}`),
      field,
      el("div", { class: "d-flex flex-wrap align-items-center gap-2 mt-1" },
        el("button", { type: "submit", class: "btn btn-sm btn-primary" }, "Save"),
        el("button", { type: "button", class: "btn btn-sm btn-outline-secondary", onclick: () => this.closeFix() }, "Cancel"),
        feedback));
    form.addEventListener("submit", (event) => this.saveFix(event, node, field, feedback));
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.closeFix();
      if (event.key === "Enter" && !event.shiftKey) form.requestSubmit();
    });
    text.classList.add("d-none");
    text.after(form);
    this.fixing = node;
    field.focus();
  }

  closeFix() {
    if (!this.fixing) return;
    this.fixing.querySelector(".fix-line")?.remove();
    this.fixing.querySelector(".seg-text")?.classList.remove("d-none");
    this.fixing = null;
  }

  async saveFix(event, node, field, feedback) {
    event.preventDefault();
    const time = node.querySelector(".seg-time").textContent.trim();
    feedback.textContent = "Saving…";
    const response = await api("PATCH", `/api/videos/${this.videoId}/segments/${node.dataset.id}`, { text: field.value });
    if (!response.ok) {
      feedback.className = "small fix-feedback text-danger";
      feedback.textContent = response.error;
      return;
    }
    this.closeFix();
    this.note(`Corrected the line at ${time}: subtitles, search and questions follow; clips with captions burned in are marked out of date.`);
    this.sections.refresh("transcript", "exchanges", "clips");
  }

  /** Keys for the player, unless a form field has the focus: Space, K, J/L (10 s), arrows (5 s), Enter on a segment. */
  key(event) {
    if (event.target.closest("input, textarea, select, [contenteditable]") || event.ctrlKey || event.metaKey || event.altKey) return;
    const segment = event.target.closest(".segment");
    if (event.key === "Enter" && segment && this.mode === "fix") return this.openFix(segment);
    if (event.key === "Enter" && segment) return this.seek(Number(segment.dataset.start));
    if (event.target.closest("button, a, video, [role=slider]")) return; // their own keys
    const jump = { j: -10, l: 10, ArrowLeft: -5, ArrowRight: 5 }[event.key];
    if (jump !== undefined) {
      event.preventDefault();
      this.player.currentTime = Math.max(0, this.player.currentTime + jump);
    } else if (event.key === " " || event.key === "k") {
      event.preventDefault();
      if (this.player.paused && event.key === " ") this.player.play().catch(() => {});
      else this.player.pause();
    }
  }

  say(kind, ...text) {
    this.result.replaceChildren(el("span", { class: kind }, ...text));
  }

  /** The words picked for a clip, and the segments they are in, are highlighted. */
  markPicked() {
    const [start, end] = this.range || [Infinity, -Infinity];
    const inside = (node) => Number(node.dataset.start) < end && Number(node.dataset.end) > start;
    for (const node of this.segments()) node.classList.toggle("chosen", inside(node));
    for (const node of this.card.querySelectorAll(".w")) node.classList.toggle("picked", inside(node));
  }

  follow() {
    const now = this.player.currentTime;
    const nodes = this.segments();
    const untouched = now === 0 && this.player.paused; // nothing is being played before the player starts
    const index = untouched ? -1 : nodes.findIndex((node) => Number(node.dataset.start) <= now && now < Number(node.dataset.end));
    this.spoken(nodes[index], now);
    if (index === this.playing) return;
    nodes[this.playing]?.classList.remove("playing");
    this.playing = index;
    nodes[index]?.classList.add("playing");
    if (index >= 0 && !this.player.paused) this.keepInView(nodes[index]);
  }

  /** The word being said is highlighted, in the segment being played. */
  spoken(segment, now) {
    const word = segment ? [...segment.querySelectorAll(".w")].find((node) => Number(node.dataset.start) <= now && now < Number(node.dataset.end)) : null;
    if (word === this.word) return;
    this.word?.classList.remove("spoken");
    this.word = word || null;
    this.word?.classList.add("spoken");
  }

  /** The transcript follows playback: the segment being played stays visible in its scrolling box. */
  keepInView(node) {
    const box = this.card.querySelector("#transcript");
    const top = node.offsetTop; // the box is the offset parent (position: relative)
    if (top < box.scrollTop || top + node.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTo({ top: Math.max(0, top - box.clientHeight / 3), behavior: "smooth" });
    }
  }

  async add(event) {
    event?.preventDefault();
    const start = this.start.value.trim();
    const end = this.end.value.trim();
    if (!start || !end) return this.say("text-danger", "Set a start and an end (seconds or mm:ss), or select words in the transcript.");
    const process = document.getElementById("manual-process").checked;
    const response = await api("POST", `/api/videos/${this.videoId}/exchanges`, { start, end, process });
    if (!response.ok) {
      this.note(`Not added: ${response.error}`); // the form may be out of sight (the bar's Add)
      return this.say("text-danger", response.error);
    }
    const exchange = response.data.exchange;
    this.say("text-success", icon("bi-check-lg"), ` Added ${exchange.title} (${clock(exchange.start, 1)} – ${clock(exchange.end, 1)}).`);
    this.start.value = "";
    this.end.value = "";
    this.range = null;
    this.firstPick = null;
    this.bar.classList.add("d-none");
    this.note(`Added ${exchange.title} (${clock(exchange.start, 1)} – ${clock(exchange.end, 1)}).`);
    this.markPicked();
    this.onExchangeAdded();
  }
}
