// voicenb BrowserAudio: mic capture (AudioWorklet -> PCM16 mono 24 kHz) and gapless playback.
// One audio engine per model (initialize); each rendered view only shows its state (render).

// The worklet runs on the audio thread: low-pass, resample by linear interpolation, convert to int16
// and post one chunk every `chunkMs` (transferred, not copied).
const WORKLET = `
class VoicenbCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.step = sampleRate / o.rate;               // input samples per output sample
    this.size = Math.round(o.rate * o.chunkMs / 1000);
    this.out = new Int16Array(this.size);
    this.n = 0; this.sq = 0;
    this.t = 0;                                    // next output position, in input samples of this block
    this.prev = 0;                                 // last (filtered) sample of the previous block
    this.lp = 0;                                   // one-pole low-pass state (anti-aliasing when downsampling)
    this.alpha = this.step > 1 ? 1 - Math.exp(-2 * Math.PI * 0.45 * o.rate / sampleRate) : 1;
  }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    const x = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) { this.lp += this.alpha * (input[i] - this.lp); x[i] = this.lp; }
    const last = x.length - 1;
    while (this.t <= last) {
      const i = Math.floor(this.t), f = this.t - i;
      const a = i < 0 ? this.prev : x[i], b = i + 1 <= last ? x[i + 1] : a;
      this.push(a + (b - a) * f);
      this.t += this.step;
    }
    this.t -= x.length;
    this.prev = x[last];
    return true;
  }
  push(s) {
    const v = Math.max(-1, Math.min(1, s));
    this.out[this.n++] = v < 0 ? v * 32768 : v * 32767;
    this.sq += v * v;
    if (this.n === this.size) {
      const level = Math.sqrt(this.sq / this.n);
      this.port.postMessage({ buffer: this.out.buffer, level }, [this.out.buffer]); // detaches this.out
      this.out = new Int16Array(this.size); this.n = 0; this.sq = 0;
    }
  }
}
registerProcessor("voicenb-capture", VoicenbCapture);
`;

const LEAD_S = 0.05; // scheduling lead after an underrun, so the first buffer is not clipped

function createEngine(model) {
  const st = {
    ctx: null, worklet: null, stream: null, source: null, node: null,
    next: 0, queue: [], heard: new Map(), played: 0, micChunks: 0, level: 0,
    views: new Set(), syncTimer: null,
  };

  const refresh = () => st.views.forEach((draw) => draw());

  async function context() {
    if (!st.ctx) {
      st.ctx = new AudioContext({ latencyHint: "interactive" });
      st.ctx.onstatechange = () => { model.set("audio_state", st.ctx.state); model.save_changes(); refresh(); };
    }
    if (st.ctx.state === "suspended") await st.ctx.resume().catch(() => {});
    return st.ctx;
  }

  function setMic(state, error = "") {
    model.set("mic_state", state);
    model.set("mic_error", error);
    model.save_changes();
    refresh();
  }

  async function startMic() {
    if (st.stream) return;
    setMic("starting");
    try {
      const ctx = await context();
      if (!st.worklet) {
        const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
        st.worklet = ctx.audioWorklet.addModule(url);
      }
      await st.worklet;
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
      if (!model.get("capturing")) { stream.getTracks().forEach((tr) => tr.stop()); setMic("idle"); return; }
      st.stream = stream;
      st.source = ctx.createMediaStreamSource(stream);
      st.node = new AudioWorkletNode(ctx, "voicenb-capture", {
        processorOptions: { rate: model.get("rate"), chunkMs: model.get("chunk_ms") },
      });
      st.node.port.onmessage = (e) => {
        st.micChunks++; st.level = e.data.level;
        model.send({ type: "mic", level: e.data.level }, undefined, [e.data.buffer]);
        if (st.micChunks % 5 === 0) refresh();
      };
      // A silent path to the destination keeps the node processing in every browser.
      const mute = ctx.createGain(); mute.gain.value = 0;
      st.source.connect(st.node).connect(mute).connect(ctx.destination);
      setMic("live");
    } catch (err) {
      const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      setMic(denied ? "denied" : "error", String(err && err.message || err));
    }
  }

  function stopMic() {
    if (st.stream) st.stream.getTracks().forEach((tr) => tr.stop());
    if (st.source) st.source.disconnect();
    if (st.node) { st.node.port.onmessage = null; st.node.disconnect(); }
    st.stream = st.source = st.node = null;
    if (model.get("mic_state") !== "denied") setMic("idle");
  }

  // Sync the played-chunks counter at most 4 times a second (it is for display and tests).
  function countPlayed() {
    st.played++;
    if (st.syncTimer) return;
    st.syncTimer = setTimeout(() => {
      st.syncTimer = null;
      model.set("played_chunks", st.played);
      model.save_changes();
      refresh();
    }, 250);
  }

  async function play(itemId, view) {
    const ctx = await context();
    const bytes = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength); // aligned copy
    const pcm = new Int16Array(bytes);
    if (!pcm.length) return;
    const samples = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
    const buffer = ctx.createBuffer(1, samples.length, model.get("rate"));
    buffer.copyToChannel(samples, 0);
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(ctx.destination);
    if (st.next < ctx.currentTime + 0.01) st.next = ctx.currentTime + LEAD_S; // underrun: restart
    const seg = { itemId, start: st.next, dur: buffer.duration, src, stopped: false };
    src.onended = () => {
      if (seg.stopped) return;
      st.heard.set(itemId, (st.heard.get(itemId) || 0) + seg.dur);
      st.queue = st.queue.filter((s) => s !== seg);
    };
    src.start(seg.start);
    st.queue.push(seg);
    st.next += seg.dur;
    if (st.heard.size > 64) st.heard.delete(st.heard.keys().next().value);
    countPlayed();
  }

  // Barge-in: silence everything now and report how much of the item being played was heard.
  function stop() {
    const now = st.ctx ? st.ctx.currentTime : 0;
    const live = st.queue.filter((s) => s.start + s.dur > now);
    const current = live.find((s) => s.start <= now) || live[0];
    let reply = { item_id: "", played_ms: 0, cut: false };
    if (current) {
      let heard = st.heard.get(current.itemId) || 0;
      for (const s of st.queue) {
        if (s.itemId === current.itemId) heard += Math.min(Math.max(now - s.start, 0), s.dur);
      }
      reply = { item_id: current.itemId, played_ms: Math.round(heard * 1000), cut: true };
    }
    for (const s of st.queue) { s.stopped = true; try { s.src.stop(); } catch (e) { /* not started */ } }
    st.queue = [];
    st.next = 0;
    return reply;
  }

  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "audio" && buffers && buffers.length) play(msg.item_id, buffers[0]);
    else if (msg.type === "stop") model.send({ type: "stopped", seq: msg.seq, ...stop() });
    else if (msg.type === "reset") stop();
  });
  model.on("change:capturing", () => (model.get("capturing") ? startMic() : stopMic()));
  // A page that finds the session already capturing (a reopened tab, a reload) waits for a click:
  // the mic turns on only when someone asks for it, and the turn it heard before is not sent again.
  if (model.get("capturing")) setMic("paused");

  st.resume = () => context().then(refresh);
  st.micOn = () => { if (model.get("capturing")) startMic(); };
  st.dispose = () => { stopMic(); stop(); if (st.ctx) st.ctx.close(); };
  return st;
}

// initialize() and render() receive different proxies of one model, so engines are keyed by a synced id:
// two engines would capture the mic twice and play every reply twice.
const engines = (globalThis.__voicenbAudioEngines ??= new Map());

function engineFor(model) {
  const id = model.get("instance_id");
  if (!engines.has(id)) engines.set(id, createEngine(model));
  return engines.get(id);
}

function initialize({ model }) {
  const st = engineFor(model);
  return () => { st.dispose(); engines.delete(model.get("instance_id")); };
}

function render({ model, el }) {
  const st = engineFor(model);
  el.classList.add("voicenb-audio");
  el.innerHTML = `
    <span class="vnb-dot"></span><span class="vnb-mic"></span>
    <span class="vnb-meter"><span class="vnb-meter-fill"></span></span>
    <span class="vnb-speaker"></span>
    <button class="vnb-enable" type="button" title="Browsers start audio only after a click">Enable audio</button>
    <button class="vnb-mic-on" type="button" title="This page opened while the session was listening">Turn mic on</button>
    <style>
      .voicenb-audio { display: flex; align-items: center; gap: 8px; font-size: var(--jp-ui-font-size1, 13px);
        color: var(--jp-ui-font-color1, inherit); padding: 2px 0; }
      .voicenb-audio .vnb-dot { width: 10px; height: 10px; border-radius: 50%;
        background: var(--jp-layout-color3, #bbb); }
      .voicenb-audio[data-mic-state="live"] .vnb-dot { background: var(--jp-success-color1, #2e7d32); }
      .voicenb-audio[data-mic-state="denied"] .vnb-dot,
      .voicenb-audio[data-mic-state="error"] .vnb-dot { background: var(--jp-error-color1, #c62828); }
      .voicenb-audio .vnb-meter { width: 80px; height: 6px; border-radius: 3px; overflow: hidden;
        background: var(--jp-layout-color2, #eee); border: 1px solid var(--jp-border-color2, #ccc); }
      .voicenb-audio .vnb-meter-fill { display: block; height: 100%; width: 0;
        background: var(--jp-brand-color1, #1976d2); }
      .voicenb-audio .vnb-enable, .voicenb-audio .vnb-mic-on { font: inherit; color: inherit; background: var(--jp-layout-color2, #eee);
        border: 1px solid var(--jp-border-color1, #999); border-radius: 3px; cursor: pointer; }
    </style>`;
  const q = (sel) => el.querySelector(sel);
  q(".vnb-enable").addEventListener("click", () => st.resume());
  q(".vnb-mic-on").addEventListener("click", () => st.micOn());
  const draw = () => {
    const mic = model.get("mic_state"), err = model.get("mic_error");
    const suspended = !st.ctx || st.ctx.state !== "running";
    el.dataset.micState = mic;
    el.dataset.micChunks = String(st.micChunks);
    el.dataset.playedChunks = String(st.played);
    el.dataset.audioState = st.ctx ? st.ctx.state : "none";
    const said = mic === "paused" ? "paused (press Turn mic on)" : mic;
    q(".vnb-mic").textContent = `mic: ${said}${err ? " (" + err + ")" : ""}`;
    q(".vnb-meter-fill").style.width = `${Math.min(100, Math.round(st.level * 300))}%`;
    q(".vnb-speaker").textContent = `speaker: ${!st.ctx ? "off" : suspended ? "paused" : "on"}`;
    q(".vnb-enable").style.display = st.ctx && suspended ? "" : "none";
    q(".vnb-mic-on").style.display = mic === "paused" ? "" : "none";
  };
  st.views.add(draw);
  const redraw = () => draw();
  model.on("change:mic_state", redraw);
  model.on("change:played_chunks", redraw);
  draw();
  return () => {
    st.views.delete(draw);
    model.off("change:mic_state", redraw);
    model.off("change:played_chunks", redraw);
  };
}

export default { initialize, render };
