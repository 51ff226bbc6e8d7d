/* The transcript with the player: click a word to play from there; the word being said is highlighted
   and followed; a drag across words (or shift-click on the first and the last) picks a clip of your
   own, snapped to whole words, and fills the form that adds it. */
import { Clipper } from "../common.js";

const { api, el, icon, clock } = Clipper;

export class Transcript {
  constructor(videoId, sections, player, onExchangeAdded) {
    this.videoId = videoId;
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
    player.addEventListener("timeupdate", () => this.follow());
    sections.after("transcript", () => {
      this.playing = -1;
      this.markPicked();
      this.follow();
    });
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
    const node = event.target.closest(".segment");
    if (!node) return;
    const at = event.target.closest(".w") || node;
    if (event.shiftKey && !event.target.closest(".seg-time")) return this.pick(at);
    if (!this.hasSelection()) this.seek(Number(at.dataset.start));
  }

  hasSelection() {
    const selection = window.getSelection();
    return Boolean(selection && !selection.isCollapsed && this.card.contains(selection.anchorNode));
  }

  /** The words a drag (or shift and the arrow keys) selected, snapped to whole words: they fill the form. */
  selectWords() {
    if (!this.hasSelection()) return;
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
      this.say("text-body-secondary", `Start set to ${this.start.value}: now shift-click the word the clip ends on.`);
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
    this.say("text-body-secondary", `From ${this.start.value} to ${this.end.value} (${clock(end - start, 1)}): press Add to add it.`);
    this.markPicked();
  }

  /** Keys for the player, unless a form field has the focus: Space, K, J/L (10 s), arrows (5 s), Enter on a segment. */
  key(event) {
    if (event.target.closest("input, textarea, select, [contenteditable]") || event.ctrlKey || event.metaKey || event.altKey) return;
    const segment = event.target.closest(".segment");
    if (event.key === "Enter" && segment) return this.seek(Number(segment.dataset.start));
    if (event.target.closest("button, a, video")) return; // their own keys
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
    const index = nodes.findIndex((node) => Number(node.dataset.start) <= now && now < Number(node.dataset.end));
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
    event.preventDefault();
    const start = this.start.value.trim();
    const end = this.end.value.trim();
    if (!start || !end) return this.say("text-danger", "Set a start and an end (seconds or mm:ss), or select words in the transcript.");
    const process = document.getElementById("manual-process").checked;
    const response = await api("POST", `/api/videos/${this.videoId}/exchanges`, { start, end, process });
    if (!response.ok) return this.say("text-danger", response.error);
    const exchange = response.data.exchange;
    this.say("text-success", icon("bi-check-lg"), ` Added ${exchange.title} (${clock(exchange.start, 1)} – ${clock(exchange.end, 1)}).`);
    this.start.value = "";
    this.end.value = "";
    this.range = null;
    this.firstPick = null;
    this.markPicked();
    this.onExchangeAdded();
  }
}
