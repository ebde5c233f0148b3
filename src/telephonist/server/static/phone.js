// The browser phone: this page speaks the Twilio Media Streams protocol itself. Microphone
// audio goes out as 8 kHz mu-law `media` frames; the bot's `media` is played through WebAudio
// in order; a `mark` is echoed when playback reaches it; `clear` drops queued audio and echoes
// every pending mark at once (those were not heard), exactly as Twilio does.

export function mulawDecode(byte) {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

function toBase64(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function fromBase64(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export class BrowserPhone {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.ws = null;
    this.ctx = null;
    this.mic = null;
    this.sources = new Set();
    this.marks = [];
    this.playhead = 0;
    this.sequence = 0;
    this.chunk = 0;
    this.timer = null;
    this.info = null;
  }

  get active() {
    return this.ws !== null;
  }

  async call() {
    this.onStatus("Dialling…", true);
    try {
      const response = await fetch("inspect/phone", { method: "POST" });
      if (!response.ok) throw new Error(`the server answered HTTP ${response.status}`);
      this.info = await response.json();
      this.mic = await navigator.mediaDevices.getUserMedia({ audio: {
        echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
      this.ctx = new AudioContext();
      await this.ctx.resume();
      await this.ctx.audioWorklet.addModule("inspect/assets/phone-worklet.js");
    } catch (error) {
      this.cleanup();
      this.onStatus(`Could not start the call: ${error.message}`, false);
      return;
    }
    const url = new URL(`inspect/phone?ticket=${encodeURIComponent(this.info.ticket)}`,
      location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.ws = new WebSocket(url);
    this.ws.onopen = () => this.started();
    this.ws.onmessage = (message) => this.received(JSON.parse(message.data));
    this.ws.onclose = () => {
      const was = this.ws !== null;
      this.cleanup();
      if (was) this.onStatus("Call ended.", false);
    };
  }

  send(event, body) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.sequence += 1;
    this.ws.send(JSON.stringify({ event, sequenceNumber: String(this.sequence),
      streamSid: this.info.stream_sid, ...body }));
  }

  started() {
    const info = this.info;
    this.ws.send(JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }));
    this.send("start", { start: { accountSid: info.account_sid, streamSid: info.stream_sid,
      callSid: info.call_sid, tracks: ["inbound"], customParameters: info.parameters,
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } } });
    const source = this.ctx.createMediaStreamSource(this.mic);
    const capture = new AudioWorkletNode(this.ctx, "telephonist-capture");
    const mute = this.ctx.createGain();
    mute.gain.value = 0;
    source.connect(capture).connect(mute).connect(this.ctx.destination);
    capture.port.onmessage = (message) => {
      this.chunk += 1;
      this.send("media", { media: { track: "inbound", chunk: String(this.chunk),
        timestamp: String((this.chunk - 1) * 20), payload: toBase64(message.data) } });
    };
    this.timer = setInterval(() => this.echoReached(), 20);
    this.onStatus(`In a call (${info.call_sid}). Speak now.`, true);
  }

  received(message) {
    if (message.event === "media") this.play(fromBase64(message.media.payload));
    else if (message.event === "mark") {
      this.marks.push({ name: message.mark.name, at: this.playhead });
      this.echoReached();
    } else if (message.event === "clear") {
      for (const node of this.sources) node.stop();
      this.sources.clear();
      this.playhead = this.ctx.currentTime;
      const pending = this.marks;
      this.marks = [];
      for (const mark of pending) this.send("mark", { mark: { name: mark.name } });
    }
  }

  play(bytes) {
    const buffer = this.ctx.createBuffer(1, bytes.length, 8000);
    const samples = buffer.getChannelData(0);
    for (let i = 0; i < bytes.length; i++) samples[i] = mulawDecode(bytes[i]) / 32768;
    const node = this.ctx.createBufferSource();
    node.buffer = buffer;
    node.connect(this.ctx.destination);
    this.playhead = Math.max(this.playhead, this.ctx.currentTime);
    node.start(this.playhead);
    this.playhead += buffer.duration;
    this.sources.add(node);
    node.onended = () => this.sources.delete(node);
  }

  echoReached() {
    if (!this.ctx) return;
    const now = this.ctx.currentTime;
    while (this.marks.length && this.marks[0].at <= now) {
      this.send("mark", { mark: { name: this.marks.shift().name } });
    }
  }

  dtmf(digit) {
    this.send("dtmf", { dtmf: { track: "inbound_track", digit } });
  }

  hangUp() {
    if (this.info) this.send("stop", { stop: { accountSid: this.info.account_sid,
      callSid: this.info.call_sid } });
    const ws = this.ws;
    this.cleanup();
    if (ws) ws.close();
    this.onStatus("You hung up.", false);
  }

  cleanup() {
    this.ws = null;
    clearInterval(this.timer);
    this.timer = null;
    for (const node of this.sources) node.stop();
    this.sources.clear();
    this.marks = [];
    if (this.mic) for (const track of this.mic.getTracks()) track.stop();
    this.mic = null;
    if (this.ctx) this.ctx.close();
    this.ctx = null;
  }
}
