// The form's expression runtime: every operator of the spec's expression
// language with the ONE meaning of kvpspec/semantics/expr.py (its docstring,
// docs/language.md §13), and the routing walker of kvpspec/semantics/routing.py.
//
// Values: no value is null; a code or number is a number; a text a string; a
// condition true, false or null (UNKNOWN); a multiple-choice answer an array
// of the chosen codes (a set). Compiled expressions (generators/form/jscompile.py)
// call the functions below; nothing here builds code from text.
"use strict";

var kvpspecRuntime = (function () {
  var hasOwn = Object.prototype.hasOwnProperty;

  function isSet(v) {
    return Array.isArray(v);
  }

  function fail(message) {
    throw new Error("kvpspec: " + message);
  }

  // Python's `==` on two values: numbers and conditions compare as numbers
  // (True == 1), texts as texts, sets as sets.
  function same(a, b) {
    var ta = typeof a, tb = typeof b;
    if ((ta === "number" || ta === "boolean") && (tb === "number" || tb === "boolean")) {
      return Number(a) === Number(b);
    }
    if (isSet(a) && isSet(b)) {
      return a.length === b.length && a.every(function (x) { return member(x, b); }) &&
        b.every(function (x) { return member(x, a); });
    }
    return a === b;
  }

  function member(x, values) {
    for (var i = 0; i < values.length; i++) {
      if (same(x, values[i])) return true;
    }
    return false;
  }

  // Python's truth of a value: 0, "" and an empty set are false.
  function truthy(v) {
    if (v === null || v === undefined) return false;
    if (isSet(v)) return v.length > 0;
    if (typeof v === "number") return v !== 0;
    if (typeof v === "string") return v.length > 0;
    return Boolean(v);
  }

  // A condition holds only when it is true; UNKNOWN does not.
  function holds(v) {
    return v !== null && truthy(v);
  }

  // A variable's value in a record; a variable not in it (or NaN) has none.
  function ref(record, name) {
    if (!hasOwn.call(record, name)) return null;
    var v = record[name];
    if (v === undefined || (typeof v === "number" && v !== v)) return null;
    return v;
  }

  // A variable's answer: an empty text or an empty choice is no answer.
  function raw(v) {
    if (v === "" || (isSet(v) && v.length === 0)) return null;
    return v;
  }

  // The value with its missing codes (``codes``) turned into no value.
  function sub(v, codes) {
    if (v === null) return null;
    if (typeof v === "number" && member(v, codes)) return null;
    return v;
  }

  function kleeneAnd(values) {
    var unknown = false;
    for (var i = 0; i < values.length; i++) {
      if (values[i] === null) unknown = true;
      else if (!truthy(values[i])) return false;
    }
    return unknown ? null : true;
  }

  function kleeneOr(values) {
    var unknown = false;
    for (var i = 0; i < values.length; i++) {
      if (values[i] === null) unknown = true;
      else if (truthy(values[i])) return true;
    }
    return unknown ? null : false;
  }

  function not(v) {
    return v === null ? null : !truthy(v);
  }

  // routing's "does not hold": false or UNKNOWN
  function notHolds(v) {
    return !holds(v);
  }

  function neg(v) {
    if (v === null) return null;
    if (!numberLike(v)) fail("`-` needs a number");
    return -v;
  }

  function numberLike(v) {
    return typeof v === "number" || typeof v === "boolean";
  }

  function arith(op, a, b) {
    if (a === null || b === null) return null;
    if (op === "+" && typeof a === "string" && typeof b === "string") return a + b;
    if (!numberLike(a) || !numberLike(b)) fail("`" + op + "` needs numbers");
    a = Number(a);
    b = Number(b);
    if (op === "+") return a + b;
    if (op === "-") return a - b;
    if (op === "*") return a * b;
    if (b === 0) return null;
    return a / b;
  }

  // `==` / `!=` on codes (missing codes included); on a set: is the code chosen?
  function equals(a, b, negate) {
    if (a === null || b === null) return null;
    var hit;
    if (isSet(a)) hit = member(b, a);
    else if (isSet(b)) hit = member(a, b);
    else hit = same(a, b);
    return hit !== negate;
  }

  // Ordering on substantive values.
  function order(op, a, b) {
    if (a === null || b === null) return null;
    if (isSet(a) || isSet(b)) return false;
    if ((typeof a === "string") !== (typeof b === "string")) fail("cannot order text with a number");
    if (op === "<") return a < b;
    if (op === "<=") return a <= b;
    if (op === ">") return a > b;
    return a >= b;
  }

  // Does a value item ([kind, low, high, text]) take the number x (bounds included)?
  function contains(item, x) {
    var kind = item[0];
    if (kind === "else") return true;
    if (kind === "string") return false;
    var below = item[1] !== null && x < item[1];
    var above = item[2] !== null && x > item[2];
    return !(below || above);
  }

  var RANGES = { range: true, upto: true, from: true, "else": true };

  // `x in [items]`: raw value, substantive value, the items, negated, and the
  // missing codes of the variable when x is one (a set's missing codes are not ordered).
  function within(r, s, items, negated, refMissing) {
    if (r === null) return null;
    var multiple = isSet(r);
    var chosen = multiple ? r : [r];
    var unknown = !multiple && s === null && items.some(function (it) { return hasOwn.call(RANGES, it[0]); });
    var hit = false;
    for (var i = 0; i < items.length && !hit; i++) {
      var item = items[i];
      for (var j = 0; j < chosen.length && !hit; j++) {
        var x = chosen[j];
        if (item[0] === "string") hit = x === item[3];
        else if (item[0] === "single") hit = same(x, item[1]);
        else {
          var v = multiple ? x : s;
          if (multiple && refMissing !== null && member(x, refMissing)) v = null;
          hit = v !== null && typeof v !== "string" && contains(item, v);
        }
      }
    }
    if (!hit && unknown) return null;
    return hit !== negated;
  }

  // `x is answered` / `missing` / `dont_know` / ...; ``kinds``: [code, kind] pairs.
  function test(kind, r, s, kinds, negated) {
    var result;
    var kindOf = function (code) {
      for (var i = 0; i < kinds.length; i++) {
        if (same(code, kinds[i][0])) return kinds[i][1];
      }
      return null;
    };
    if (kind === "answered") result = r !== null && !(isSet(r) && r.length === 0);
    else if (isSet(r)) {
      if (kind === "missing") result = r.every(function (c) { return kindOf(c) !== null; });
      else result = r.some(function (c) { return kindOf(c) === kind; });
    } else if (kind === "missing") result = r === null || s === null;
    else result = r !== null && typeof r !== "string" && !isSet(r) && kindOf(r) === kind;
    return result !== negated;
  }

  // `if C then A else B`: A and B as functions, so only the branch taken is computed.
  function cond(c, then, otherwise) {
    if (c === null) return null;
    return truthy(c) ? then() : otherwise();
  }

  // Aggregates; sum/min/max take substantive values.
  function count(values) {
    return values.filter(holds).length;
  }

  function sum(values) {
    var total = 0;
    values.forEach(function (v) {
      if (v === null) return;
      if (!numberLike(v)) fail("`sum` needs numbers");
      total += Number(v);
    });
    return total;
  }

  function extreme(values, larger) {
    var best = null;
    values.forEach(function (v) {
      if (v === null) return;
      if (best === null || (larger ? v > best : v < best)) best = v;
    });
    return best;
  }

  function min(values) { return extreme(values, false); }
  function max(values) { return extreme(values, true); }

  // A recode as a lookup table: {rules: [[item, code], ...], missing: [codes]}.
  function lookup(table, v) {
    if (v === null) return null;
    if (isSet(v)) fail("a recode takes one code, not a set");
    var fallback = null;
    var isMissing = member(v, table.missing);
    for (var i = 0; i < table.rules.length; i++) {
      var item = table.rules[i][0], code = table.rules[i][1];
      if (item[0] === "else") fallback = code;
      else if (item[0] === "single") { if (same(v, item[1])) return code; }
      else if (item[0] !== "string" && !isMissing && contains(item, v)) return code;
    }
    return fallback;
  }

  // Set a field of a record, whatever its name (`__proto__` included).
  function put(record, name, v) {
    Object.defineProperty(record, name, { value: v, writable: true, enumerable: true, configurable: true });
  }

  // A copy of a record that has no prototype: its names are only its own.
  function copy(record) {
    var out = Object.create(null);
    Object.keys(record).forEach(function (k) { put(out, k, record[k]); });
    return out;
  }

  // ------------------------------------------------------------ routing

  // The disposition when this answer ends the interview (routing.ended_by).
  function endedBy(step, v) {
    if (step.ends.length === 0 || v === null || v === undefined) return null;
    var chosen = isSet(v) ? v : [v];
    for (var i = 0; i < step.ends.length; i++) {
      if (member(step.ends[i][0], chosen)) return step.ends[i][1];
    }
    return null;
  }

  // The one rule of routing (routing.Walk): a step is asked when its guard
  // holds on the answers so far and no earlier answer ended the interview; an
  // answer whose option has an `end` ends it with that disposition.
  // ``answer(step)`` gives the answer of an asked step; the walk puts it into
  // ``scope`` before the next step's guard is read.
  function walk(steps, scope, answer) {
    var record = copy(scope);
    var path = [];
    var end = null;
    for (var i = 0; i < steps.length; i++) {
      var step = steps[i];
      var asked = end === null && (step.guard === null || holds(step.guard(record)));
      if (!asked) continue;
      path.push(step.name);
      var v = answer(step);
      put(record, step.name, v === undefined ? null : v);
      end = endedBy(step, ref(record, step.name));
    }
    return { path: path, end: end, record: record };
  }

  return {
    fail: fail, same: same, truthy: truthy, holds: holds, ref: ref, raw: raw, sub: sub,
    and: kleeneAnd, or: kleeneOr, not: not, notHolds: notHolds, neg: neg, arith: arith,
    equals: equals, order: order, within: within, test: test, cond: cond,
    count: count, sum: sum, min: min, max: max, any: kleeneOr, all: kleeneAnd,
    lookup: lookup, put: put, copy: copy, endedBy: endedBy, walk: walk
  };
})();

if (typeof module !== "undefined" && module.exports) {
  module.exports = kvpspecRuntime;
}
