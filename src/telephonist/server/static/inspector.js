// The inspector page: the call list, and for the selected call its transcript, dialogue state
// and timeline, kept live from the server's call-event feed. Text from calls is only ever
// inserted as text (never as HTML).

import { BrowserPhone } from "./phone.js";
import { renderTimeline } from "./timeline.js";

const calls = new Map();
let selected = null;
let followLatest = true;
let clockOffset = 0; // server clock (event `at`) minus local seconds
let wallOffset = 0;
let scheduled = false;

const $ = (id) => document.getElementById(id);

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

const localSeconds = () => performance.now() / 1000;
const serverNow = () => localSeconds() + clockOffset;

function addCall(summary) {
  const call = { ...summary, events: summary.events ? [...summary.events] : [] };
  calls.set(call.call_id, call);
  return call;
}

function onEvent(event) {
  if (!event.call_id) return;
  let call = calls.get(event.call_id);
  if (!call) {
    call = addCall({ call_id: event.call_id, caller: "", callee: "", started_at: event.at,
      started_wall: Date.now() / 1000 + wallOffset, ended_at: null, end_reason: null });
  }
  call.events.push(event);
  if (event.kind === "call.started") {
    call.caller = event.user_phone || "";
    call.callee = event.bot_phone || "";
    if (followLatest) selected = call.call_id;
  } else if (event.kind === "call.ended") {
    call.ended_at = event.at;
    call.end_reason = event.reason;
  }
}

function onMessage(message) {
  if (message.type === "snapshot") {
    clockOffset = message.now - localSeconds();
    wallOffset = message.wall - Date.now() / 1000;
    calls.clear();
    for (const summary of message.calls) addCall(summary);
    if (followLatest || !calls.has(selected)) {
      const active = [...calls.values()].filter((c) => c.ended_at === null);
      const pick = active.length ? active[active.length - 1] : [...calls.values()].pop();
      selected = pick ? pick.call_id : null;
    }
  } else if (message.type === "event") {
    onEvent(message.event);
  } else if (message.type === "dropped") {
    $("feed-status").textContent = "Fell behind; reloading the calls…"; // the server closes
  }
  schedule();
}

async function connectFeed(attempt = 0) {
  try {
    const response = await fetch("inspect/ticket", { method: "POST" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { ticket } = await response.json();
    const url = new URL(`inspect/feed?ticket=${encodeURIComponent(ticket)}`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    ws.onopen = () => {
      attempt = 0;
      $("feed-status").textContent = "Live";
      $("feed-status").classList.add("live");
    };
    ws.onmessage = (message) => onMessage(JSON.parse(message.data));
    ws.onclose = () => retry(attempt);
  } catch (error) {
    retry(attempt, error);
  }
}

function retry(attempt, error) {
  $("feed-status").classList.remove("live");
  $("feed-status").textContent = `Disconnected${error ? ` (${error.message})` : ""}; ` +
    "reconnecting…";
  setTimeout(() => connectFeed(attempt + 1), Math.min(10000, 500 * 2 ** attempt));
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

function seconds(value) {
  const s = Math.max(0, Math.round(value));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function renderCalls() {
  const rows = [...calls.values()].reverse().map((call) => {
    const row = node("tr", call.call_id === selected ? "selected" : "");
    const button = node("button", "sid", call.call_id);
    button.type = "button";
    button.title = call.call_id;
    button.setAttribute("aria-pressed", String(call.call_id === selected));
    button.setAttribute("aria-label", `Show call ${call.call_id}`);
    button.addEventListener("click", () => {
      selected = call.call_id;
      followLatest = false;
      render();
      $("detail").focus();
    });
    const sidCell = node("td");
    sidCell.appendChild(button);
    const start = new Date(call.started_wall * 1000).toLocaleTimeString([], { hour12: false });
    const duration = (call.ended_at ?? serverNow()) - call.started_at;
    const state = call.ended_at === null ? "active" : `ended: ${call.end_reason}`;
    const callerCell = node("td", "", call.caller || "—");
    callerCell.title = call.caller;
    row.append(sidCell, callerCell, node("td", "", start),
      node("td", "", seconds(duration)),
      node("td", call.ended_at === null ? "state-active" : "", state));
    return row;
  });
  $("call-rows").replaceChildren(...rows);
  $("no-calls").hidden = calls.size > 0;
}

function transcriptItems(call) {
  const items = [];
  let partial = null;
  let lastBot = null;
  for (const e of call.events) {
    if (e.kind === "asr.partial") partial = e.text;
    else if (e.kind === "asr.final") {
      partial = null;
      if (e.text) items.push({ who: "Caller", cls: "caller", text: e.text,
        extra: e.confidence != null ? ` (confidence ${Number(e.confidence).toFixed(2)})` : "" });
    } else if (e.kind === "bot.message") {
      lastBot = { who: "Bot", cls: "bot", text: e.text, heard: null };
      items.push(lastBot);
    } else if (e.kind === "barge_in" && lastBot) {
      lastBot.heard = e.heard || "";
      lastBot.full = e.full || lastBot.text;
      lastBot.trigger = e.trigger;
    } else if (e.kind === "barge_in.resumed") {
      if (lastBot) lastBot.heard = null;  // the caller hears the rest after all
      const what = e.text ? `"${e.text}"` : "a sound without words";
      items.push({ cls: "note", text: `Bot resumed after ${what} (held ${e.held_ms} ms)` });
    } else if (e.kind === "caller.backchannel") {
      items.push({ cls: "note", text: `"${e.text}" is a backchannel: not a turn` });
    } else if (e.kind === "turn.decided" && e.decision !== "complete") {
      const p = e.probability != null ? `, p ${Number(e.probability).toFixed(2)}` : "";
      const what = e.decision === "incomplete" ? "sounds incomplete: waiting"
        : e.decision === "continued" ? "ended, but the caller went on before its words were known: same turn"
        : e.decision === "unfinished" ? "ended, but its words stop mid-sentence: waiting for more"
        : e.decision === "max_wait" ? "longest wait reached: turn ended"
        : "could not be judged: silence decides";
      items.push({ cls: "note", text: `Pause of ${e.pause_ms} ms ${what}${p}` });
    } else if (e.kind === "dtmf") items.push({ cls: "note", text: `Keypress ${e.digit}` });
    else if (e.kind === "silence.timeout") {
      items.push({ cls: "note", text: `Silence timeout #${e.consecutive} after ${e.timeout} s` });
    } else if (e.kind === "call.hang_up") items.push({ cls: "note", text: `Bot hung up (${e.via})` });
    else if (e.kind === "call.transfer") items.push({ cls: "note", text: `Transfer to ${e.to}` });
    else if (e.kind === "call.ended") items.push({ cls: "note", text: `Call ended: ${e.reason}` });
    else if (e.kind === "error") {
      items.push({ cls: "note error", text: `Error (${e.source}): ${e.message}` });
    }
  }
  if (partial) items.push({ who: "Caller (partial)", cls: "caller partial", text: partial });
  return items;
}

function renderTranscript(call) {
  const items = transcriptItems(call);
  const list = items.map((item) => {
    const li = node("li", item.cls);
    if (item.who) li.appendChild(node("span", "who", item.who + (item.extra || "")));
    if (item.heard !== null && item.heard !== undefined) {
      const full = item.full;
      const heard = full.startsWith(item.heard) ? item.heard : "";
      const mark = node("mark", "", heard);
      mark.title = "The part the caller heard before barging in";
      li.append(mark, node("span", "unheard", full.slice(heard.length)));
      li.appendChild(node("span", "who", `Barge-in (${item.trigger}): the caller heard ` +
        `${heard ? "the highlighted part" : "nothing"}`));
    } else {
      li.appendChild(document.createTextNode(item.text));
    }
    return li;
  });
  const last = items.filter((item) => !item.cls.includes("partial")).pop();
  const said = last ? `${last.who || "Call"}: ${last.text}` : "";
  if ($("announce").textContent !== said) $("announce").textContent = said; // screen readers
  const box = $("transcript");
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
  box.replaceChildren(...list);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function pairs(entries) {
  const dl = node("dl");
  for (const [key, value] of entries) {
    dl.append(node("dt", "", key),
      node("dd", "", typeof value === "string" ? value : JSON.stringify(value)));
  }
  return dl;
}

function renderState(call) {
  const turns = call.events.filter((e) => (e.kind === "assistant.turn"
    || e.kind === "assistant.state") && e.state && Object.keys(e.state).length);
  const box = $("state");
  const state = turns.length ? turns[turns.length - 1].state : null;
  if (!state) {
    box.replaceChildren(node("p", "muted", "No dialogue state reported yet."));
    return;
  }
  if (state.unavailable) {  // a Rasa server whose tracker API cannot be read
    box.replaceChildren(node("p", "muted", state.unavailable));
    return;
  }
  const parts = [node("h4", "", "Flow stack")];
  const stack = state.flow_stack || [];
  if (stack.length) {
    const ol = node("ol", "flow-stack");
    for (const frame of [...stack].reverse()) {
      ol.appendChild(node("li", "", `${frame.flow_id}${frame.step_id ? ` · ${frame.step_id}` : ""}`));
    }
    parts.push(ol);
  } else parts.push(node("p", "muted", "(empty)"));
  parts.push(node("h4", "", "Slots"));
  const slots = Object.entries(state.slots || {});
  parts.push(slots.length ? pairs(slots) : node("p", "muted", "(none set)"));
  const intent = state.latest_intent || {};
  parts.push(node("h4", "", "Last intent"));
  parts.push(pairs([["intent", intent.name ?? "—"],
    ["confidence", intent.confidence != null ? Number(intent.confidence).toFixed(2) : "—"]]));
  parts.push(node("h4", "", "Entities"));
  const entities = state.entities || [];
  parts.push(entities.length ? pairs(entities.map((e) => [e.entity ?? "entity", e.value ?? e]))
    : node("p", "muted", "(none)"));
  box.replaceChildren(...parts);
}

function render() {
  renderCalls();
  const call = selected ? calls.get(selected) : null;
  if (!call) {
    $("detail-title").textContent = "No call selected";
    return;
  }
  $("detail-title").textContent = `Call ${call.call_id}` +
    (call.caller ? ` from ${call.caller}` : "");
  renderTranscript(call);
  renderState(call);
  renderTimeline($("timeline"), call, serverNow());
}

function setUpPhone() {
  const callButton = $("call-button");
  const hangup = $("hangup-button");
  const keys = [...document.querySelectorAll("#keypad button")];
  const phone = new BrowserPhone((text, inCall) => {
    $("phone-status").textContent = text;
    callButton.disabled = inCall;
    hangup.disabled = !inCall;
    for (const key of keys) key.disabled = !inCall;
  });
  callButton.addEventListener("click", () => {
    followLatest = true;
    phone.call();
  });
  hangup.addEventListener("click", () => phone.hangUp());
  for (const key of keys) key.addEventListener("click", () => phone.dtmf(key.dataset.digit));
}

setUpPhone();
connectFeed();
setInterval(() => {
  if ([...calls.values()].some((c) => c.ended_at === null)) schedule();
}, 1000);
window.addEventListener("resize", schedule);
