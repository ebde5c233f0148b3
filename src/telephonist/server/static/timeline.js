// The call timeline: one SVG picture of a call, drawn from its call events.
// Lanes: caller speech (VAD edges), ASR partial/final ticks, bot audio playing (first TTS byte
// until playback done or barge-in), and events (barge-in, silence, DTMF, hang-up); below them,
// per-turn latency brackets from the end of caller speech to the first bot audio.

const SVG = "http://www.w3.org/2000/svg";
const GUTTER = 96;
const MIN_PX_PER_S = 40;
const LANES = { speech: 26, asr: 54, bot: 82, events: 110 };
const LANE_H = 18;
const HEIGHT = 190;

function el(name, attrs, parent, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function titled(node, text) {
  el("title", {}, node, text);
  return node;
}

function niceStep(seconds, width) {
  const target = seconds / Math.max(2, width / 90);
  for (const step of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600]) if (step >= target) return step;
  return 1200;
}

// Intervals [from, to) of one lane, from open/close event kinds.
function spans(events, opens, closes, end) {
  const out = [];
  let open = null;
  for (const e of events) {
    if (opens.includes(e.kind) && open === null) open = e;
    else if (closes.includes(e.kind) && open !== null) {
      out.push({ from: open.at, to: e.at, open, close: e });
      open = null;
    }
  }
  if (open !== null) out.push({ from: open.at, to: end, open, close: null });
  return out;
}

export function summarise(call) {
  const count = (kind) => call.events.filter((e) => e.kind === kind).length;
  return `${count("speech.started")} caller utterances, ${count("bot.message")} bot messages, ` +
    `${count("barge_in")} barge-ins, ${count("silence.timeout")} silence timeouts, ` +
    `${count("turn.latency")} measured turns`;
}

export function renderTimeline(container, call, nowAt) {
  const events = call.events;
  const t0 = call.started_at;
  const end = call.ended_at ?? Math.max(nowAt, events.length ? events[events.length - 1].at : t0);
  const duration = Math.max(end - t0, 1);
  const available = Math.max((container.clientWidth || 800) - 2, 320);
  const pxPerS = Math.max((available - GUTTER - 16) / duration, MIN_PX_PER_S);
  const width = Math.max(available, GUTTER + duration * pxPerS + 16);
  const x = (at) => GUTTER + Math.max(0, at - t0) * pxPerS;

  const svg = el("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: "img",
    "aria-labelledby": "timeline-svg-title" });
  el("title", { id: "timeline-svg-title" }, svg,
    `Timeline of call ${call.call_id} over ${duration.toFixed(1)} s: ${summarise(call)}`);

  // Lanes and their names.
  const names = { speech: "Caller speech", asr: "ASR", bot: "Bot audio", events: "Events" };
  for (const [lane, y] of Object.entries(LANES)) {
    el("rect", { x: GUTTER, y, width: width - GUTTER, height: LANE_H, fill: "#f6f8fa" }, svg);
    el("text", { x: 6, y: y + 13, fill: "#57606a" }, svg, names[lane]);
  }

  // Time axis.
  const step = niceStep(duration, width - GUTTER);
  for (let s = 0; s <= duration + 1e-9; s += step) {
    el("line", { x1: x(t0 + s), x2: x(t0 + s), y1: 16, y2: 132, stroke: "#d0d7de" }, svg);
    el("text", { x: x(t0 + s) + 2, y: 12, fill: "#57606a" }, svg, `${+s.toFixed(1)} s`);
  }

  // Caller speech from the VAD.
  for (const span of spans(events, ["speech.started"], ["speech.ended"], end)) {
    titled(el("rect", { class: "tl-speech", x: x(span.from), y: LANES.speech,
      width: Math.max(2, (span.to - span.from) * pxPerS), height: LANE_H, fill: "#1f7a3f",
      rx: 3 }, svg), `Caller speaking ${(span.to - span.from).toFixed(2)} s`);
  }

  // ASR results.
  for (const e of events) {
    if (e.kind === "asr.partial") {
      titled(el("rect", { class: "tl-partial", x: x(e.at) - 1, y: LANES.asr + 6, width: 2,
        height: LANE_H - 6, fill: "#8c959f" }, svg), `Partial: ${e.text}`);
    } else if (e.kind === "asr.final") {
      titled(el("rect", { class: "tl-final", x: x(e.at) - 2, y: LANES.asr, width: 4,
        height: LANE_H, fill: "#0b3d91" }, svg), `Final: ${e.text}`);
    }
  }

  // Bot audio: from its first byte until playback is done or the caller barges in.
  const texts = new Map(events.filter((e) => e.kind === "bot.message")
    .map((e) => [e.message_id, e.text]));
  const botSpans = spans(events, ["tts.first_byte", "barge_in.resumed"],
    ["audio.playback_done", "barge_in", "call.ended"], end);
  for (const span of botSpans) {
    const said = texts.get(span.open.message_id) ?? "";
    const cut = span.close && span.close.kind === "barge_in";
    titled(el("rect", { class: "tl-bot", x: x(span.from), y: LANES.bot,
      width: Math.max(2, (span.to - span.from) * pxPerS), height: LANE_H,
      fill: cut ? "#b392f0" : "#8250df", rx: 3 }, svg),
    `Bot audio ${(span.to - span.from).toFixed(2)} s${cut ? " (cut by barge-in)" : ""}: ${said}`);
  }

  // Point events.
  for (const e of events) {
    const at = x(e.at);
    if (e.kind === "barge_in") {
      titled(el("line", { class: "tl-barge", x1: at, x2: at, y1: LANES.speech - 4,
        y2: LANES.events + LANE_H, stroke: "#cf222e", "stroke-width": 2 }, svg),
      `Barge-in (${e.trigger}${e.pending ? ", on hold until words" : ""}); heard: "${e.heard}"`);
    } else if (e.kind === "barge_in.resumed") {
      titled(el("line", { class: "tl-resumed", x1: at, x2: at, y1: LANES.speech - 4,
        y2: LANES.events + LANE_H, stroke: "#1a7f37", "stroke-width": 2,
        "stroke-dasharray": "4 3" }, svg),
      `Bot resumed (${e.text ? `"${e.text}"` : "no words"}) after ${e.held_ms} ms on hold`);
    } else if (e.kind === "silence.timeout") {
      const from = x(e.at - (e.timeout || 0));
      titled(el("rect", { class: "tl-silence", x: from, y: LANES.events + 4,
        width: Math.max(2, at - from), height: LANE_H - 8, fill: "#9a6700",
        "fill-opacity": 0.35 }, svg), `Silence timeout ${e.timeout} s (#${e.consecutive})`);
    } else if (e.kind === "dtmf") {
      titled(el("text", { class: "tl-dtmf", x: at - 3, y: LANES.events + 13,
        fill: "#0a58ca", "font-weight": 700 }, svg, e.digit), `Keypress ${e.digit}`);
    } else if (e.kind === "call.hang_up" || e.kind === "call.ended") {
      titled(el("line", { x1: at, x2: at, y1: LANES.events, y2: LANES.events + LANE_H,
        stroke: "#1b1f24", "stroke-width": 2 }, svg), e.kind === "call.hang_up"
        ? `Bot hung up (${e.via})` : `Call ended: ${e.reason}`);
    }
  }

  // Per-turn latency: end of caller speech -> first bot audio, split into its parts.
  let row = 0;
  for (const e of events.filter((ev) => ev.kind === "turn.latency")) {
    const total = e.speech_end_to_audio_ms;
    const asr = Math.max(0, total - e.final_to_audio_ms);
    const from = x(e.at - total / 1000);
    const to = x(e.at);
    const y = 146 + (row++ % 2) * 22;
    const g = el("g", { class: "tl-latency" }, svg);
    el("line", { x1: from, x2: to, y1: y, y2: y, stroke: "#1b1f24", "stroke-width": 1.5 }, g);
    el("line", { x1: from, x2: from, y1: y - 4, y2: y + 4, stroke: "#1b1f24" }, g);
    el("line", { x1: to, x2: to, y1: y - 4, y2: y + 4, stroke: "#1b1f24" }, g);
    const llm = e.llm_ms === undefined ? "" : ` (LLM ${Math.round(e.llm_ms)})`;
    const label = `${Math.round(total)} ms (ASR ${Math.round(asr)} · assistant ` +
      `${Math.round(e.assistant_ms)}${llm} · TTS ${Math.round(e.tts_first_byte_ms)})`;
    const anchorEnd = to > width * 0.6; // keep the label inside the picture
    el("text", { x: anchorEnd ? to : from, y: y + 15, fill: "#1b1f24",
      "text-anchor": anchorEnd ? "end" : "start" }, g, label);
    titled(g, `Turn latency: end of speech to first bot audio ${label}`);
  }

  container.replaceChildren(svg);
}
