// The interviewing form: its logic and its user interface.
//
// ``Interview`` is the interview itself, without any DOM: which question is on
// screen, the answers, the route, the checks, the record. It follows the
// spec's routing by the one rule of ``routing.Walk`` (the compiled guards of
// ``program.steps``, run by ``runtime.js``); the Node tests drive this same
// code. ``mount`` is the page: it builds every element with createElement and
// textContent only (no text is ever parsed as HTML), and ``window.kvpspec`` is
// the driving API.
"use strict";

var kvpspecForm = (function () {
  var hasOwn = Object.prototype.hasOwnProperty;

  function own(o, k) {
    return o !== null && o !== undefined && hasOwn.call(o, k);
  }

  // ------------------------------------------------------------ texts

  // A text of the page's data: a string, or [text, {language: translation}].
  function textIn(t, lang) {
    if (t === null || t === undefined) return "";
    if (typeof t === "string") return t;
    return own(t[1], lang) ? t[1][lang] : t[0];
  }

  // model.split_fills: [["text", ...], ["fill", name], ...]; {{ and }} are braces.
  function splitFills(text) {
    var parts = [];
    var re = /\{\{|\}\}|\{([^{}]*)\}/g;
    var pos = 0, mo;
    while ((mo = re.exec(text)) !== null) {
      if (mo.index > pos) parts.push(["text", text.slice(pos, mo.index)]);
      if (mo[0] === "{{") parts.push(["text", "{"]);
      else if (mo[0] === "}}") parts.push(["text", "}"]);
      else parts.push(["fill", (mo[1] || "").trim()]);
      pos = re.lastIndex;
    }
    if (pos < text.length) parts.push(["text", text.slice(pos)]);
    return parts;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return own(values, key) ? String(values[key]) : all;
    });
  }

  function uuid() {
    var c = typeof crypto !== "undefined" ? crypto : null;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    var hex = "";
    for (var i = 0; i < 32; i++) hex += Math.floor(Math.random() * 16).toString(16);
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-4" + hex.slice(13, 16) + "-" +
      "89ab"[Math.floor(Math.random() * 4)] + hex.slice(17, 20) + "-" + hex.slice(20, 32);
  }

  function iso(ms) {
    return new Date(ms).toISOString();
  }

  var INTEGER = /^[+-]?[0-9]+$/;
  var DECIMAL = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;

  // ------------------------------------------------------------ the interview

  // options: {mode, language, sample: {field: value}, caseId, now: () => ms, id}
  function Interview(K, program, data, options) {
    options = options || {};
    this.K = K;
    this.program = program;
    this.data = data;
    this.mode = options.mode === "web" ? "web" : "cati";
    this.language = data.languages.indexOf(options.language) >= 0 ? options.language : data.languages[0];
    this.now = options.now || function () { return Date.now(); };
    this.id = options.id || uuid();
    this.caseId = options.caseId === undefined ? null : options.caseId;
    this.screens = Object.create(null);
    this.specifyParent = Object.create(null);
    var self = this;
    data.screens.forEach(function (s) {
      self.screens[s.name] = s;
      s.options.forEach(function (o) {
        if (o.specify) self.specifyParent[o.specify.name] = s.name;
      });
    });
    this.steps = program.steps;
    this.stepIndex = Object.create(null);
    this.steps.forEach(function (s, i) { self.stepIndex[s.name] = i; });
    this.checksAt = Object.create(null);
    data.checks.forEach(function (c) {
      (self.checksAt[c.at] = self.checksAt[c.at] || []).push(c);
    });
    this.sample = this.computeSample(options.sample || {});
    this.answers = Object.create(null);
    this.invalid = Object.create(null);
    this.path = [];
    this.base = null;
    this.baseKeys = [];
    this.finished = false;
    this.disposition = null;
    this.pendingSoft = null;
    this.ended = null;
    this.started = this.now();
    this.endedAt = null;
    this.seconds = Object.create(null);
    this.backs = 0;
    this.enteredAt = this.started;
    var first = this.findNext(-1, this.baseAt(0));
    if (first === null) this.finish(data.complete);
    else this.path.push({ screen: first, specs: [] });
  }

  Interview.prototype.computeSample = function (given) {
    var K = this.K, program = this.program;
    var out = Object.create(null);
    this.data.sample.forEach(function (f) {
      if (own(f, "formula")) {
        var v = null;
        try { v = program.exprs[f.formula](out); } catch (e) { v = null; }
        K.put(out, f.name, v === undefined ? null : v);
      } else {
        K.put(out, f.name, own(given, f.name) ? given[f.name] : null);
      }
    });
    return out;
  };

  // The record the guards read before path entry ``upto``: the sample and the
  // answers of the questions asked before it (and their specify texts). One
  // record is kept up to date (``base`` holds entries [0, baseKeys.length)),
  // so a move costs the answers it changes, not the whole route. Callers may
  // add the current question's answers to it and must ``drop`` them again
  // unless the move succeeds.
  Interview.prototype.baseAt = function (upto) {
    var K = this.K;
    if (this.base === null) {
      this.base = K.copy(this.sample);
      this.baseKeys = [];
    }
    while (this.baseKeys.length > upto) this.drop(this.baseKeys.pop());
    while (this.baseKeys.length < upto && this.baseKeys.length < this.path.length) {
      var entry = this.path[this.baseKeys.length];
      var keys = [entry.screen].concat(entry.specs);
      for (var i = 0; i < keys.length; i++) K.put(this.base, keys[i], this.get(keys[i]));
      this.baseKeys.push(keys);
    }
    return this.base;
  };

  Interview.prototype.drop = function (keys) {
    for (var i = 0; i < keys.length; i++) {
      if (own(this.sample, keys[i])) this.K.put(this.base, keys[i], this.sample[keys[i]]);
      else delete this.base[keys[i]];
    }
  };

  // A copy of that record (for callers that keep it).
  Interview.prototype.scope = function (upto) {
    return this.K.copy(this.baseAt(upto));
  };

  Interview.prototype.get = function (name) {
    return own(this.answers, name) ? this.answers[name] : null;
  };

  // The first question after step ``from`` whose guard holds (specify texts
  // are asked on their question's screen), or null at the end.
  Interview.prototype.findNext = function (from, scope) {
    var K = this.K;
    for (var j = from + 1; j < this.steps.length; j++) {
      var step = this.steps[j];
      if (this.specifyParent[step.name] !== undefined) continue;
      // web respondents start after the intro: the telephone call's opening and screener
      if (this.mode === "web" && step.inIntro) continue;
      if (step.guard === null || K.holds(step.guard(scope))) return step.name;
    }
    return null;
  };

  Interview.prototype.current = function () {
    if (this.finished || this.path.length === 0) return null;
    return this.path[this.path.length - 1].screen;
  };

  Interview.prototype.screen = function () {
    var name = this.current();
    return name === null ? null : this.screens[name];
  };

  Interview.prototype.words = function () {
    return this.data.words[this.language] || this.data.words[this.data.languages[0]];
  };

  Interview.prototype.optionByCode = function (screen, code) {
    for (var i = 0; i < screen.options.length; i++) {
      if (screen.options[i].code === code) return screen.options[i];
    }
    return null;
  };

  // A value for a question: [value, errors]; strings are read as the
  // question's kind reads them (what the page's inputs give).
  Interview.prototype.check = function (screen, value) {
    var w = this.words(), lang = this.language, self = this;
    if (value === null || value === undefined) return [null, []];
    var kind = screen.kind;
    if (kind === "text") {
      if (typeof value !== "string") return [null, [w.required]];
      return [value === "" ? null : value, []];
    }
    if (kind === "multiple") {
      if (!Array.isArray(value)) value = [value];
      var chosen = [], errors = [];
      value.forEach(function (c) {
        var code = typeof c === "string" && INTEGER.test(c.trim()) ? Number(c) : c;
        var o = typeof code === "number" ? self.optionByCode(screen, code) : null;
        if (o === null) errors.push(format(w.not_a_code, { value: String(c) }));
        else if (chosen.indexOf(code) < 0) chosen.push(code);
      });
      if (errors.length) return [null, errors];
      if (chosen.length > 1) {
        chosen.forEach(function (c) {
          var o = self.optionByCode(screen, c);
          if (o.exclusive) errors.push(format(w.exclusive, { label: textIn(o.label, lang) }));
        });
        if (errors.length) return [null, errors];
      }
      var order = screen.options.map(function (o) { return o.code; });
      chosen.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
      return [chosen.length ? chosen : null, []];
    }
    var x = value;
    if (typeof x === "string") {
      var t = x.trim();
      if (t === "") return [null, []];
      var pattern = kind === "decimal" ? DECIMAL : INTEGER;
      if (!pattern.test(t)) return [null, [kind === "decimal" ? w.number : kind === "single" ? format(w.not_a_code, { value: t }) : w.whole]];
      x = Number(t);
    }
    if (typeof x !== "number" || !isFinite(x)) return [null, [w.number]];
    if (kind === "single") {
      return this.optionByCode(screen, x) === null ? [null, [format(w.not_a_code, { value: String(x) })]] : [x, []];
    }
    if (this.optionByCode(screen, x) !== null) return [x, []]; // a missing code of a number
    if (kind === "integer" && Math.floor(x) !== x) return [null, [w.whole]];
    if (screen.range && (x < screen.range[0] || x > screen.range[1])) {
      return [null, [format(w.range, { low: screen.range[0], high: screen.range[1] })]];
    }
    return [x, []];
  };

  Interview.prototype.answer = function (name, value) {
    if (this.finished) throw new Error("kvpspec: the interview has ended");
    var cur = this.current();
    var screen = this.screen();
    // a soft check stays confirmable while the answers are the same (its key holds them)
    if (name === cur) {
      var checked = this.check(screen, value);
      delete this.invalid[name];
      if (checked[1].length) {
        delete this.answers[name];
        this.invalid[name] = checked[1];
        return { ok: false, errors: checked[1] };
      }
      if (checked[0] === null) delete this.answers[name];
      else this.K.put(this.answers, name, checked[0]);
      return { ok: true, errors: [] };
    }
    if (this.specifyParent[name] === cur && cur !== null) {
      if (value !== null && typeof value !== "string") {
        return { ok: false, errors: [this.words().required] };
      }
      if (value === null || value === "") delete this.answers[name];
      else this.K.put(this.answers, name, value);
      return { ok: true, errors: [] };
    }
    throw new Error("kvpspec: `" + name + "` is not the question on screen (`" + cur + "`)");
  };

  // Does the answer choose this code?
  function chooses(value, code) {
    if (Array.isArray(value)) return value.indexOf(code) >= 0;
    return value === code;
  }

  Interview.prototype.fillRecord = function () {
    var upto = this.finished ? this.path.length : this.path.length - 1;
    return this.program.complete(this.baseAt(upto));
  };

  // A text with its fills: [["text", ...] | ["fill", shown, known]].
  Interview.prototype.fill = function (t, record) {
    var lang = this.language, data = this.data;
    var text = textIn(t, lang);
    return splitFills(text).map(function (part) {
      if (part[0] === "text") return part;
      if (typeof record === "function") record = record();
      var name = part[1];
      var v = own(record, name) ? record[name] : null;
      if (v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0)) {
        return ["fill", "<" + name.toUpperCase() + ">", false];
      }
      var labels = own(data.labels, name) ? data.labels[name] : null;
      var show = function (x) {
        if (labels !== null && typeof x === "number" && own(labels, String(x))) return textIn(labels[String(x)], lang);
        return String(x);
      };
      return ["fill", Array.isArray(v) ? v.map(show).join(", ") : show(v), true];
    });
  };

  // Is a text of the script shown? (Inside `if` blocks: when they hold.)
  Interview.prototype.shows = function (item, record) {
    if (!own(item, "when")) return true;
    if (typeof record === "function") record = record();
    try { return this.K.holds(this.program.exprs[item.when](record)); } catch (e) { return true; }
  };

  Interview.prototype.plain = function (t, record) {
    return this.fill(t, record).map(function (p) { return p[1]; }).join("");
  };

  Interview.prototype.leave = function (name) {
    var t = this.now();
    var spent = Math.max(0, (t - this.enteredAt) / 1000);
    this.seconds[name] = Math.round(((this.seconds[name] || 0) + spent) * 10) / 10;
    this.enteredAt = t;
  };

  Interview.prototype.next = function () {
    var K = this.K, w = this.words();
    var cur = this.current();
    var out = { ok: false, current: cur, errors: [], soft: [], hard: [] };
    if (cur === null) {
      out.errors.push(w.done);
      return out;
    }
    var screen = this.screens[cur];
    var entry = this.path[this.path.length - 1];
    if (own(this.invalid, cur)) {
      out.errors = this.invalid[cur].slice();
      return out;
    }
    var value = this.get(cur);
    if (value === null) {
      out.errors.push(w.required);
      return out;
    }
    var scope = this.baseAt(this.path.length - 1);
    var added = [cur];
    K.put(scope, cur, value);
    var step = this.steps[this.stepIndex[cur]];
    var end = K.endedBy(step, K.ref(scope, cur));
    var specs = [];
    if (end === null) {
      for (var j = this.stepIndex[cur] + 1; j < this.steps.length; j++) {
        var s = this.steps[j];
        if (this.specifyParent[s.name] !== cur) break;
        if (s.guard === null || K.holds(s.guard(scope))) {
          specs.push(s.name);
          var text = this.get(s.name);
          if (text === null) {
            var o = null;
            screen.options.forEach(function (opt) { if (opt.specify && opt.specify.name === s.name) o = opt; });
            out.errors.push(format(w.specify_needed, { label: o ? textIn(o.label, this.language) : s.name }));
          }
          K.put(scope, s.name, text);
          added.push(s.name);
        }
      }
    }
    if (out.errors.length) {
      this.drop(added);
      return out;
    }
    var checks = this.checksAt[cur] || [];
    if (checks.length) {
      var full = this.program.complete(scope);
      for (var i = 0; i < checks.length; i++) {
        var c = checks[i];
        if (K.holds(this.program.exprs[c.expr](full))) {
          (c.hard ? out.hard : out.soft).push({ name: c.name, message: this.plain(c.label, full) });
        }
      }
    }
    if (out.hard.length) {
      out.hard = out.hard.map(function (x) { return x.message; });
      out.soft = out.soft.map(function (x) { return x.message; });
      this.drop(added);
      return out;
    }
    if (out.soft.length) {
      var key = JSON.stringify([cur, value, specs.map(function (n) { return scope[n]; })]);
      out.soft = out.soft.map(function (x) { return x.message; });
      if (this.pendingSoft !== key) {
        this.pendingSoft = key;
        this.drop(added);
        return out;
      }
    }
    this.pendingSoft = null;
    entry.specs = specs;
    this.baseKeys.push(added);
    this.leave(cur);
    if (end !== null) {
      this.finish(end);
    } else {
      var following = this.findNext(this.stepIndex[cur], scope);
      if (following === null) this.finish(this.data.complete);
      else this.path.push({ screen: following, specs: [] });
    }
    out.ok = true;
    out.current = this.current();
    return out;
  };

  Interview.prototype.finish = function (disposition) {
    this.finished = true;
    this.disposition = disposition;
    this.endedAt = this.now();
    this.pendingSoft = null;
  };

  Interview.prototype.back = function () {
    this.pendingSoft = null;
    if (this.finished && this.path.length > 0 && this.ended !== "call") {
      this.finished = false;
      this.disposition = null;
      this.endedAt = null;
      this.enteredAt = this.now();
      this.backs += 1;
      return { ok: true, current: this.current() };
    }
    if (this.finished || this.path.length <= 1) return { ok: false, current: this.current() };
    this.leave(this.current());
    this.path.pop();
    this.path[this.path.length - 1].specs = [];
    this.backs += 1;
    return { ok: true, current: this.current() };
  };

  // CATI: the interviewer ends the call with a disposition of the spec.
  Interview.prototype.end = function (code) {
    var known = this.data.dispositions.some(function (d) { return d.code === code; });
    if (!known) throw new Error("kvpspec: " + String(code) + " is not a disposition of the spec");
    if (!this.finished && this.current() !== null) this.leave(this.current());
    this.finish(code);
    this.ended = "call";
    return { ok: true, disposition: code };
  };

  Interview.prototype.asked = function () {
    var out = [];
    this.path.forEach(function (e) {
      out.push(e.screen);
      e.specs.forEach(function (n) { out.push(n); });
    });
    return out;
  };

  // The names on the route; at the end, what the record holds.
  Interview.prototype.onRoute = function () {
    var out = Object.create(null);
    this.asked().forEach(function (n) { out[n] = true; });
    return out;
  };

  Interview.prototype.idValue = function () {
    var id = this.data.id;
    if (id === null || this.caseId === null || this.caseId === undefined) return null;
    var c = String(this.caseId);
    if (id.kind === "integer") return INTEGER.test(c) ? Number(c) : null;
    return c;
  };

  Interview.prototype.record = function () {
    var route = this.onRoute();
    var rec = {};
    var self = this;
    var id = this.data.id;
    this.data.columns.forEach(function (col) {
      var v = null;
      if (id !== null && col === id.name) v = self.idValue();
      else if (route[col] === true) v = self.get(col);
      rec[col] = v === undefined ? null : v;
    });
    var complete = this.finished && this.ended !== "call";
    var screened = complete && this.path.length > 0 && own(this.screens[this.path[this.path.length - 1].screen], "intro") &&
      this.disposition !== this.data.complete;
    return {
      id: this.id,
      record: rec,
      paradata: {
        started: iso(this.started),
        ended: this.endedAt === null ? null : iso(this.endedAt),
        seconds: Object.assign({}, this.seconds),
        backs: this.backs,
        mode: this.mode,
        language: this.language,
        disposition: this.disposition,
        finished: this.finished,
        complete: complete && !screened,
        "case": this.caseId
      }
    };
  };

  Interview.prototype.state = function () {
    return {
      current: this.current(),
      mode: this.mode,
      language: this.language,
      finished: this.finished,
      disposition: this.disposition,
      asked: this.asked(),
      answers: Object.assign({}, this.answers)
    };
  };

  // What an unfinished interview needs to resume (kept in the browser's storage).
  Interview.prototype.snapshot = function () {
    return {
      id: this.id, started: this.started, answers: Object.assign({}, this.answers),
      backs: this.backs, seconds: Object.assign({}, this.seconds), "case": this.caseId
    };
  };

  // Resume: take the answers and follow the route while they answer it (a soft
  // check is taken as confirmed; a hard check or a missing answer stops).
  Interview.prototype.resume = function (answers, snapshot) {
    var K = this.K, self = this;
    Object.keys(answers || {}).forEach(function (k) { K.put(self.answers, k, answers[k]); });
    if (snapshot) {
      if (snapshot.id) this.id = snapshot.id;
      if (typeof snapshot.started === "number") this.started = snapshot.started;
      this.backs = snapshot.backs || 0;
      Object.keys(snapshot.seconds || {}).forEach(function (k) { self.seconds[k] = snapshot.seconds[k]; });
    }
    var guard = 0;
    while (!this.finished && guard++ < 100000) {
      var cur = this.current();
      if (cur === null || !own(this.answers, cur)) break;
      var checked = this.check(this.screens[cur], this.answers[cur]);
      if (checked[1].length) break;
      var res = this.next();
      if (!res.ok && res.soft.length && !res.hard.length && !res.errors.length) res = this.next();
      if (!res.ok) break;
    }
    this.enteredAt = this.now();
  };

  // ------------------------------------------------------------ the page

  function mount(doc, win, K, program, data, config) {
    var params = {};
    try {
      new URL(win.location.href).searchParams.forEach(function (v, k) { params[k] = v; });
    } catch (e) { params = {}; }
    var mode = params.mode === "web" || params.mode === "cati" ? params.mode : (config.mode === "web" ? "web" : "cati");
    var language = data.languages.indexOf(params.lang) >= 0 ? params.lang :
      (data.languages.indexOf(config.language) >= 0 ? config.language : data.languages[0]);
    var storage = null;
    try { storage = win.localStorage; } catch (e) { storage = null; }
    var keyBase = "kvpspec:" + data.survey + ":" + (data.version || "");
    var unfinishedKey = keyBase + ":unfinished" + (config["case"] ? ":" + String(config["case"]) : "");
    var queueKey = keyBase + ":queue";
    var iv;

    function fresh() {
      iv = new Interview(K, program, data, {
        mode: mode, language: language, sample: config.sample || {}, caseId: config["case"]
      });
    }
    fresh();
    if (config.resume) iv.resume(config.resume, null);

    var main = doc.getElementById("kvpspec-form");
    var section = doc.getElementById("question");
    var messages = doc.getElementById("messages");
    var backButton = doc.getElementById("back");
    var nextButton = doc.getElementById("next");
    var select = doc.getElementById("language");
    var languageLabel = doc.getElementById("language-label");
    var dispositions = doc.getElementById("dispositions");
    var notice = doc.getElementById("notice");
    var titleNode = doc.getElementById("title");
    var inputs = {};
    var digitBuffer = "", digitTimer = null;
    var status = "";

    function el(tag, cls, text) {
      var n = doc.createElement(tag);
      if (cls) n.className = cls;
      if (text !== undefined && text !== null) n.textContent = text;
      return n;
    }

    function clear(n) {
      while (n.firstChild) n.removeChild(n.firstChild);
    }

    // A text with its fills into an element (fills as <span class="fill">).
    function filled(node, t, record) {
      iv.fill(t, record).forEach(function (part) {
        if (part[0] === "text") node.appendChild(doc.createTextNode(part[1]));
        else node.appendChild(el("span", part[2] ? "fill" : "fill unknown", part[1]));
      });
      return node;
    }

    function words() { return iv.words(); }

    // Saving serialises every answer: done at most every 300 ms while the
    // interview goes on (and when the page is left), at once when it ends.
    var saveTimer = null;
    function save() {
      if (!storage || config.submit) return;
      if (!iv.finished) {
        if (saveTimer === null) saveTimer = win.setTimeout(saveNow, 300);
        return;
      }
      saveNow();
    }

    function saveNow() {
      if (saveTimer !== null) { win.clearTimeout(saveTimer); saveTimer = null; }
      if (!storage || config.submit) return;
      try {
        if (iv.finished) storage.removeItem(unfinishedKey);
        else storage.setItem(unfinishedKey, JSON.stringify({ language: iv.language, mode: iv.mode, snapshot: iv.snapshot() }));
      } catch (e) { /* storage full or denied: the interview goes on */ }
    }

    function readQueue() {
      if (!storage) return [];
      try { return JSON.parse(storage.getItem(queueKey) || "[]"); } catch (e) { return []; }
    }

    function writeQueue(q) {
      if (!storage) return;
      try { storage.setItem(queueKey, JSON.stringify(q)); } catch (e) { /* kept in memory only */ }
    }

    var memoryQueue = [];
    var sending = false;
    function flush() {
      if (!config.submit || sending || typeof win.fetch !== "function") return;
      var q = storage ? readQueue() : memoryQueue;
      if (!q.length) return;
      sending = true;
      var item = q[0];
      var headers = { "Content-Type": "application/json" };
      if (config.token) headers.Authorization = "Bearer " + config.token;
      win.fetch(config.submit, { method: "POST", headers: headers, body: JSON.stringify(item) }).then(function (resp) {
        sending = false;
        if (resp.status === 200 || resp.status === 201) {
          var rest = (storage ? readQueue() : memoryQueue).filter(function (x) { return x.id !== item.id; });
          if (storage) writeQueue(rest); else memoryQueue = rest;
          status = "sent";
          render();
          flush();
        } else {
          status = "queued";
          render();
        }
      }, function () {
        sending = false;
        status = "queued";
        render();
      });
    }

    function submit() {
      if (!config.submit) return;
      var rec = iv.record();
      var q = storage ? readQueue() : memoryQueue;
      if (!q.some(function (x) { return x.id === rec.id; })) q.push(rec);
      if (storage) writeQueue(q); else memoryQueue = q;
      status = "queued";
      flush();
    }

    function download() {
      var rec = iv.record();
      var blob = new win.Blob([JSON.stringify(rec, null, 2)], { type: "application/json" });
      var url = win.URL.createObjectURL(blob);
      var a = el("a");
      a.href = url;
      a.download = data.survey + "-" + rec.id + ".json";
      doc.body.appendChild(a);
      a.click();
      doc.body.removeChild(a);
      win.setTimeout(function () { win.URL.revokeObjectURL(url); }, 1000);
    }

    function showMessages(res) {
      clear(messages);
      if (!res) return;
      (res.errors || []).forEach(function (m) { messages.appendChild(el("p", "hard", m)); });
      (res.hard || []).forEach(function (m) { messages.appendChild(el("p", "hard", m)); });
      if (res.hard && res.hard.length) messages.appendChild(el("p", "hard hint", words().hard));
      (res.soft || []).forEach(function (m) { messages.appendChild(el("p", "soft", m)); });
      if (res.soft && res.soft.length && !(res.hard && res.hard.length)) messages.appendChild(el("p", "soft hint", words().soft));
    }

    function optionsOf(screen) {
      var groups = { read: [], plain: [], notRead: [], missing: [] };
      var marked = screen.options.some(function (o) { return o.read; }) || screen.readNone;
      screen.options.forEach(function (o) {
        if (o.missing) groups.missing.push(o);
        else if (!marked) groups.plain.push(o);
        else if (o.read) groups.read.push(o);
        else groups.notRead.push(o);
      });
      return groups;
    }

    function optionNode(screen, o, type, cls) {
      var cati = iv.mode === "cati";
      var wrap = el("div", "option " + cls);
      var label = el("label");
      var input = el("input");
      input.type = type;
      input.name = "answer-" + screen.name;
      input.value = String(o.code);
      input.id = "option-" + screen.name + "-" + String(o.code);
      if (o.exclusive) input.setAttribute("data-exclusive", "true");
      label.appendChild(input);
      if (cati) label.appendChild(el("span", "code", String(o.code)));
      label.appendChild(filled(el("span", cls === "read" ? "text read" : "text"), o.label, fillRecord));
      wrap.appendChild(label);
      input.addEventListener("change", function () { choose(screen, o.code, input.checked); });
      inputs[input.id] = input;
      if (o.specify) {
        var box = el("div", "specify");
        var id = "specify-" + o.specify.name;
        var sl = el("label", cati ? "instruction" : "", textIn(o.specify.label, iv.language));
        sl.htmlFor = id;
        var si = el("input");
        si.type = "text";
        si.id = id;
        si.setAttribute("data-name", o.specify.name);
        si.value = iv.get(o.specify.name) || "";
        si.addEventListener("input", function () { iv.answer(o.specify.name, si.value); });
        box.appendChild(sl);
        box.appendChild(si);
        box.setAttribute("data-code", String(o.code));
        wrap.appendChild(box);
      }
      return wrap;
    }

    function choose(screen, code, on) {
      var res;
      if (screen.kind === "multiple") {
        var now = (iv.get(screen.name) || []).slice();
        var o = iv.optionByCode(screen, code);
        if (on) {
          if (o && o.exclusive) now = [code];
          else {
            now = now.filter(function (c) { var x = iv.optionByCode(screen, c); return !(x && x.exclusive); });
            if (now.indexOf(code) < 0) now.push(code);
          }
        } else {
          now = now.filter(function (c) { return c !== code; });
        }
        res = iv.answer(screen.name, now);
      } else {
        res = iv.answer(screen.name, on ? code : null);
        if (screen.kind === "integer" || screen.kind === "decimal") {
          var box = doc.getElementById("answer-input");
          if (box && on) box.value = "";
        }
      }
      sync();
      showMessages(res.ok ? null : res);
    }

    var fillRecord = null;

    // The checked state and specify boxes from the interview's answers.
    function sync() {
      var screen = iv.screen();
      if (!screen) return;
      var value = iv.get(screen.name);
      screen.options.forEach(function (o) {
        var input = doc.getElementById("option-" + screen.name + "-" + String(o.code));
        if (input) input.checked = value !== null && chooses(value, o.code);
        if (o.specify) {
          var si = doc.getElementById("specify-" + o.specify.name);
          if (si) {
            var shown = value !== null && chooses(value, o.code);
            si.parentNode.hidden = !shown;
            si.value = iv.get(o.specify.name) || "";
          }
        }
      });
      var box = doc.getElementById("answer-input");
      if (box && !own(iv.invalid, screen.name)) {
        var isOption = value !== null && screen.kind !== "text" && iv.optionByCode(screen, value) !== null;
        var want = value === null || isOption ? "" : String(value);
        var typed = box.value.trim();
        var same = typed === want || (typed !== "" && value !== null && screen.kind !== "text" && Number(typed) === value);
        if (!same) box.value = want;
      }
    }

    function group(parent, title, cls, list, screen, type, optionCls) {
      if (!list.length) return;
      var div = el("div", "group " + cls);
      if (title) div.appendChild(el("p", "instruction group-title", title));
      list.forEach(function (o) { div.appendChild(optionNode(screen, o, type, optionCls)); });
      parent.appendChild(div);
    }

    function renderScreen(screen) {
      var w = words(), cati = iv.mode === "cati";
      var completed = null;
      // the completed record, computed only when a text needs it
      fillRecord = function () {
        if (completed === null) completed = iv.fillRecord();
        return completed;
      };
      section.setAttribute("data-name", screen.name);
      if (screen.roster) {
        var it = screen.roster.iteration.join(".");
        section.appendChild(el("p", "roster", textIn(screen.roster.label, iv.language) + " " + it));
      }
      (screen.lead || []).forEach(function (item) {
        if (!iv.shows(item, fillRecord) || (item.intro && !cati)) return;
        if (item.kind === "section") section.appendChild(filled(el("h2", "section"), item.text, fillRecord));
        else if (item.kind === "heading") { if (cati) section.appendChild(filled(el("h3", "heading"), item.text, fillRecord)); }
        else if (item.kind === "instruction") { if (cati) section.appendChild(filled(el("p", "instruction"), item.text, fillRecord)); }
        else section.appendChild(filled(el("p", cati ? "say read" : "say"), item.text, fillRecord));
      });
      if (screen.grid) section.appendChild(filled(el("p", cati ? "grid read" : "grid"), screen.grid, fillRecord));
      var readText = cati && !screen.recorded ? "label read" : "label";
      var choice = screen.kind === "single" || screen.kind === "multiple";
      var container, legend;
      if (choice) {
        container = el("fieldset", "answers");
        legend = el("legend", readText);
        container.appendChild(legend);
      } else {
        container = el("div", "answers");
        legend = el("label", readText);
        legend.htmlFor = "answer-input";
      }
      legend.id = "question-label";
      if (screen.number) legend.appendChild(el("span", "number", screen.number + " "));
      filled(legend, screen.label, fillRecord);
      if (!choice) container.appendChild(legend);
      if (cati) {
        if (screen.recorded) container.appendChild(el("p", "instruction", w.recorded));
        (screen.notes || []).forEach(function (t) { container.appendChild(filled(el("p", "instruction note"), t, fillRecord)); });
        (screen.instructions || []).forEach(function (t) { container.appendChild(filled(el("p", "instruction"), t, fillRecord)); });
      }
      if (screen.kind === "multiple") container.appendChild(el("p", cati ? "instruction" : "hint", w.several));
      var groups = optionsOf(screen);
      var type = screen.kind === "multiple" ? "checkbox" : "radio";
      if (!choice) {
        var input = el("input");
        input.id = "answer-input";
        input.type = "text";
        input.name = "answer-" + screen.name;
        input.autocomplete = "off";
        if (screen.kind === "integer") input.inputMode = "numeric";
        else if (screen.kind === "decimal") input.inputMode = "decimal";
        if (screen.range) input.setAttribute("aria-describedby", "answer-range");
        input.addEventListener("input", function () {
          var v = input.value;
          iv.answer(screen.name, v === "" ? null : v);
          screen.options.forEach(function (o) {
            var r = doc.getElementById("option-" + screen.name + "-" + String(o.code));
            if (r && v !== "") r.checked = false;
          });
          showMessages(null);
        });
        container.appendChild(input);
        if (screen.range) {
          var hint = el("p", "hint", format(w.range, { low: screen.range[0], high: screen.range[1] }));
          hint.id = "answer-range";
          container.appendChild(hint);
        }
        group(container, cati ? w.missing : "", "missing", groups.missing.concat(groups.plain), screen, "radio", "notread");
      } else if (cati) {
        group(container, groups.read.length ? w.read : "", "read", groups.read, screen, type, "read");
        group(container, "", "plain", groups.plain, screen, type, "plain");
        group(container, w.not_read, "notread", groups.notRead, screen, type, "notread");
        group(container, w.missing, "missing", groups.missing, screen, type, "notread");
      } else {
        group(container, "", "plain", groups.read.concat(groups.plain, groups.notRead), screen, type, "plain");
        group(container, "", "missing", groups.missing, screen, type, "missing");
      }
      section.appendChild(container);
    }

    function renderEnd() {
      var w = words(), cati = iv.mode === "cati";
      section.removeAttribute("data-name");
      var rec = iv.record();
      var completed = null;
      // the completed record, computed only when a closing text needs it
      var fr = function () {
        if (completed === null) completed = iv.fillRecord();
        return completed;
      };
      var d = null;
      data.dispositions.forEach(function (x) { if (x.code === iv.disposition) d = x; });
      if (rec.paradata.complete) {
        data.closing.forEach(function (item) {
          if (!iv.shows(item, fr)) return;
          if (item.kind === "say") section.appendChild(filled(el("p", cati ? "say read" : "say"), item.text, fr));
          else if (cati) section.appendChild(filled(el("p", "instruction"), item.text, fr));
        });
        section.appendChild(el("h2", "done", w.done));
      } else {
        section.appendChild(el("h2", "done", w.ended));
      }
      if (d && cati) section.appendChild(el("p", "disposition-label", String(d.code) + " " + textIn(d.label, iv.language)));
      if (!config.submit) {
        var b = el("button", "download", w.download);
        b.type = "button";
        b.id = "download";
        b.addEventListener("click", download);
        section.appendChild(b);
      } else if (status) {
        section.appendChild(el("p", "status", status === "sent" ? w.sent : w.queued));
      }
    }

    var dispositionsIn = null;

    function render() {
      var w = words(), cati = iv.mode === "cati";
      main.setAttribute("data-mode", iv.mode);
      main.setAttribute("lang", iv.language);
      doc.documentElement.setAttribute("lang", iv.language);
      titleNode.textContent = textIn(data.title, iv.language);
      languageLabel.textContent = w.language;
      select.parentNode.hidden = data.languages.length < 2;
      backButton.textContent = w.back;
      nextButton.textContent = w.next;
      clear(section);
      inputs = {};
      var screen = iv.screen();
      if (screen === null) renderEnd();
      else renderScreen(screen);
      backButton.disabled = iv.path.length <= 1 && !iv.finished;
      if (iv.finished && iv.ended === "call") backButton.disabled = true;
      nextButton.disabled = iv.finished;
      dispositions.hidden = !cati || iv.finished || data.dispositions.length === 0;
      if (!dispositions.hidden && dispositionsIn !== iv.language) {
        dispositionsIn = iv.language;
        clear(dispositions);
        dispositions.appendChild(el("p", "instruction", w.end_call));
        data.dispositions.forEach(function (d) {
          if (d.code === data.complete) return;
          var b = el("button", "disposition", String(d.code) + " " + textIn(d.label, iv.language));
          b.type = "button";
          b.setAttribute("data-code", String(d.code));
          b.addEventListener("click", function () { api.end(d.code); });
          dispositions.appendChild(b);
        });
      }
      sync();
    }

    function focusFirst() {
      var box = doc.getElementById("answer-input");
      if (box) { box.focus(); return; }
      var screen = iv.screen();
      if (screen) {
        var value = iv.get(screen.name);
        var target = null;
        screen.options.forEach(function (o) {
          var input = doc.getElementById("option-" + screen.name + "-" + String(o.code));
          if (input && (target === null || (value !== null && chooses(value, o.code) && !target.checked))) target = input;
        });
        if (target) { target.focus(); return; }
      }
      var d = doc.getElementById("download");
      if (d) d.focus();
    }

    // Focusing the new screen's answer needs its layout: done in the next frame
    // (where the browser lays it out anyway), not inside next(); a key pressed
    // before that frame takes the focus first (see the keydown handler).
    var focusFrame = null;
    function focusSoon() {
      if (focusFrame !== null) return;
      var run = function () { if (focusFrame !== null) { focusFrame = null; focusFirst(); } };
      focusFrame = typeof win.requestAnimationFrame === "function" ? win.requestAnimationFrame(run) : win.setTimeout(run, 0);
    }

    function cancelFocus() {
      if (focusFrame === null) return false;
      if (typeof win.cancelAnimationFrame === "function") win.cancelAnimationFrame(focusFrame);
      else win.clearTimeout(focusFrame);
      focusFrame = null;
      return true;
    }

    function focusNow() {
      if (cancelFocus()) focusFirst();
    }

    function after(res, moved) {
      if (moved && !notice.hidden) {
        // a new interview has begun: the offer to resume the kept one is withdrawn
        clear(notice);
        notice.hidden = true;
      }
      if (moved) {
        render();
        save();
        if (iv.finished) submit();
        if (iv.finished && config.submit) render();
        focusSoon();
      }
      showMessages(res && !res.ok ? res : null);
    }

    // Inputs typed on the page become answers before Next.
    function commit() {
      var screen = iv.screen();
      if (!screen) return;
      var box = doc.getElementById("answer-input");
      if (box && box.value.trim() !== "") iv.answer(screen.name, box.value);
      screen.options.forEach(function (o) {
        if (!o.specify) return;
        var si = doc.getElementById("specify-" + o.specify.name);
        if (si && !si.parentNode.hidden) iv.answer(o.specify.name, si.value === "" ? null : si.value);
      });
    }

    var api = {
      current: function () { return iv.current(); },
      answer: function (name, value) {
        var res = iv.answer(name, value);
        sync();
        showMessages(res.ok ? null : res);
        return res;
      },
      next: function () {
        var before = iv.current();
        var res = iv.next();
        after(res, res.ok || iv.current() !== before);
        return res;
      },
      back: function () {
        var res = iv.back();
        after(null, res.ok);
        return res;
      },
      record: function () { return iv.record(); },
      state: function () { return iv.state(); },
      end: function (code) {
        var res = iv.end(code);
        after(null, true);
        return res;
      },
      // A new interview in this page: the same mode, the language on screen and
      // the same config (but not config.resume); a new id, answers and paradata.
      // A pending save or digit is dropped, and so is the kept copy of the
      // interview given up (a finished one is already sent or queued).
      reset: function () {
        if (digitTimer !== null) { win.clearTimeout(digitTimer); digitTimer = null; }
        digitBuffer = "";
        if (saveTimer !== null) { win.clearTimeout(saveTimer); saveTimer = null; }
        cancelFocus();
        if (storage && !config.submit) {
          try { storage.removeItem(unfinishedKey); } catch (e) { /* ignore */ }
        }
        language = iv.language;
        fresh();
        status = "";
        clear(notice);
        notice.hidden = true;
        select.value = iv.language;
        render();
        showMessages(null);
        focusFirst();
        return { ok: true, id: iv.id, current: iv.current() };
      },
      language: function (lang) {
        if (data.languages.indexOf(lang) < 0) throw new Error("kvpspec: `" + lang + "` is not a language of the study");
        iv.language = lang;
        select.value = lang;
        render();
        return lang;
      }
    };

    function goNext() {
      commit();
      api.next();
    }

    function goBack() {
      api.back();
    }

    data.languages.forEach(function (lang) {
      var o = el("option", "", lang);
      o.value = lang;
      select.appendChild(o);
    });
    select.value = iv.language;
    select.addEventListener("change", function () { api.language(select.value); });
    nextButton.addEventListener("click", goNext);
    backButton.addEventListener("click", goBack);

    function pickDigits(code) {
      var screen = iv.screen();
      if (!screen) return;
      var o = iv.optionByCode(screen, code);
      if (!o) return;
      var value = iv.get(screen.name);
      var on = screen.kind === "multiple" ? !chooses(value, code) : true;
      choose(screen, code, on);
      // an option with a specify text: its box takes the keys (Enter goes on)
      var box = on && o.specify ? doc.getElementById("specify-" + o.specify.name) : null;
      if (box && !box.parentNode.hidden) { box.focus(); return; }
      var input = doc.getElementById("option-" + screen.name + "-" + String(code));
      if (input) input.focus();
    }

    // A code typed so far is taken at once (Enter does not wait for a second digit).
    function settleDigits() {
      if (digitTimer === null) return;
      win.clearTimeout(digitTimer);
      digitTimer = null;
      var screen = iv.screen();
      if (screen && screen.options.some(function (o) { return String(o.code) === digitBuffer; })) pickDigits(Number(digitBuffer));
      digitBuffer = "";
    }

    function digit(d) {
      var screen = iv.screen();
      if (!screen) return;
      var codes = screen.options.map(function (o) { return String(o.code); });
      var settle = function () {
        var exact = codes.indexOf(digitBuffer) >= 0;
        var longer = codes.some(function (c) { return c !== digitBuffer && c.indexOf(digitBuffer) === 0; });
        return [exact, longer];
      };
      if (digitTimer !== null) { win.clearTimeout(digitTimer); digitTimer = null; }
      digitBuffer += d;
      var s = settle();
      if (!s[0] && !s[1] && digitBuffer.length > 1) {
        // the digits so far cannot grow into this one: take them, then start again
        var before = digitBuffer.slice(0, -1);
        if (codes.indexOf(before) >= 0) pickDigits(Number(before));
        digitBuffer = d;
        s = settle();
      }
      if (s[0] && !s[1]) {
        pickDigits(Number(digitBuffer));
        digitBuffer = "";
      } else if (s[1]) {
        digitTimer = win.setTimeout(function () {
          digitTimer = null;
          if (codes.indexOf(digitBuffer) >= 0) pickDigits(Number(digitBuffer));
          digitBuffer = "";
        }, 1000);
      } else {
        digitBuffer = "";
      }
    }

    doc.addEventListener("keydown", function (ev) {
      if (focusFrame !== null) focusNow();
      var t = doc.activeElement || ev.target;
      var tag = t && t.tagName ? t.tagName.toLowerCase() : "";
      var typing = (tag === "input" && (t.type === "text" || t.type === "number")) || tag === "textarea";
      if (ev.key === "PageUp" || (ev.altKey && ev.key === "ArrowLeft")) {
        ev.preventDefault();
        goBack();
        return;
      }
      if (ev.key === "Enter") {
        if (tag === "button" || tag === "select" || tag === "a") return;
        ev.preventDefault();
        settleDigits();
        goNext();
        return;
      }
      if (ev.key === "Escape") {
        if (iv.pendingSoft !== null) {
          iv.pendingSoft = null;
          showMessages(null);
          focusFirst();
        }
        return;
      }
      if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (/^[0-9]$/.test(ev.key) && iv.screen() !== null) {
        ev.preventDefault();
        digit(ev.key);
      }
    });

    // standalone: offer to resume an unfinished interview kept in this browser
    if (!config.submit && !config.resume && storage) {
      var kept = null;
      try { kept = JSON.parse(storage.getItem(unfinishedKey) || "null"); } catch (e) { kept = null; }
      if (kept && kept.snapshot && kept.snapshot.answers && Object.keys(kept.snapshot.answers).length) {
        var w = words();
        notice.hidden = false;
        notice.appendChild(el("p", "", w.resume));
        var yes = el("button", "primary", w.resume_yes);
        yes.type = "button";
        yes.id = "resume-yes";
        var no = el("button", "", w.resume_no);
        no.type = "button";
        no.id = "resume-no";
        yes.addEventListener("click", function () {
          fresh();
          iv.resume(kept.snapshot.answers, kept.snapshot);
          clear(notice);
          notice.hidden = true;
          render();
          focusFirst();
        });
        no.addEventListener("click", function () {
          try { storage.removeItem(unfinishedKey); } catch (e) { /* ignore */ }
          clear(notice);
          notice.hidden = true;
          focusFirst();
        });
        notice.appendChild(yes);
        notice.appendChild(no);
      }
    }
    // a pending save is written at once when the page is left or hidden
    win.addEventListener("pagehide", function () { if (saveTimer !== null) saveNow(); });
    doc.addEventListener("visibilitychange", function () { if (doc.visibilityState === "hidden" && saveTimer !== null) saveNow(); });
    if (config.submit) {
      flush();
      win.setInterval(flush, 30000);
      win.addEventListener("online", flush);
    }
    render();
    focusFirst();
    return api;
  }

  return { Interview: Interview, mount: mount, textIn: textIn, splitFills: splitFills };
})();

if (typeof module !== "undefined" && module.exports) {
  module.exports = kvpspecForm;
} else if (typeof document !== "undefined") {
  (function () {
    var config = JSON.parse(document.getElementById("kvpspec-config").textContent || "{}") || {};
    var data = JSON.parse(document.getElementById("kvpspec-data").textContent);
    window.kvpspec = kvpspecForm.mount(document, window, kvpspecRuntime, kvpspecProgram, data, config);
  })();
}
