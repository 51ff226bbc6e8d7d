/* The transcript with the player: click a time to play from there, the segment being played is
   highlighted, and two clicks on segments fill the form that adds an exchange by hand. */
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
    this.firstPick = null;
    this.chosen = null;
    this.playing = -1;
    this.word = null;
    this.card.addEventListener("click", (event) => this.click(event));
    document.addEventListener("keydown", (event) => this.key(event));
    document.getElementById("manual-form").addEventListener("submit", (event) => this.add(event));
    player.addEventListener("timeupdate", () => this.follow());
    sections.after("transcript", () => {
      this.playing = -1;
      this.markChosen();
      this.follow();
    });
  }

  segments() {
    return [...this.card.querySelectorAll(".segment")];
  }

  seek = (seconds) => {
    if (!this.player.getAttribute("src")) return;
    this.player.currentTime = seconds;
    this.player.play().catch(() => {});
    const box = this.player.getBoundingClientRect();
    if (box.bottom < 0 || box.top > window.innerHeight) this.player.scrollIntoView({ block: "nearest", behavior: "smooth" });
  };

  /** Click a word (or a segment's time) to play from there; shift-click two words to mark a clip of
      your own, snapped to the words' edges. */
  click(event) {
    const node = event.target.closest(".segment");
    if (!node) return;
    const word = event.target.closest(".w");
    const at = word || node;
    if (event.shiftKey && !event.target.closest(".seg-time")) return this.pick(Number(node.dataset.index), at);
    this.seek(Number(at.dataset.start));
  }

  pick(index, at) {
    if (this.firstPick === null) {
      this.firstPick = { index, start: Number(at.dataset.start) };
      this.chosen = [index, index];
      this.start.value = clock(this.firstPick.start, 2);
      this.end.value = "";
      this.say("text-body-secondary", `Start set to ${this.start.value}: now shift-click the word the clip ends on.`);
    } else {
      const other = { index, start: Number(at.dataset.start), end: Number(at.dataset.end) };
      const [first, last] = this.firstPick.start <= other.start ? [this.firstPick, other] : [other, this.firstPick];
      this.chosen = [first.index, last.index];
      this.start.value = clock(first.start, 2);
      this.end.value = clock(Math.max(last.end || last.start, first.start), 2);
      this.firstPick = null;
      this.say("text-body-secondary", `From ${this.start.value} to ${this.end.value}: press + to add it.`);
    }
    this.markChosen();
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

  markChosen() {
    const nodes = this.segments();
    nodes.forEach((node, index) => node.classList.toggle("chosen", Boolean(this.chosen) && index >= this.chosen[0] && index <= this.chosen[1]));
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
    if (!start || !end) return this.say("text-danger", "Set a start and an end (seconds or mm:ss), or click two transcript segments.");
    const process = document.getElementById("manual-process").checked;
    const response = await api("POST", `/api/videos/${this.videoId}/exchanges`, { start, end, process });
    if (!response.ok) return this.say("text-danger", response.error);
    const exchange = response.data.exchange;
    this.say("text-success", icon("bi-check-lg"), ` Added ${exchange.title} (${clock(exchange.start, 1)} – ${clock(exchange.end, 1)}).`);
    this.start.value = "";
    this.end.value = "";
    this.chosen = null;
    this.firstPick = null;
    this.markChosen();
    this.onExchangeAdded();
  }
}
