// console (Console Standard: every method, with levels). Entries go to the bridge as bounded
// strings; the execution's console budget is counted here, before any text is copied out.
import {
  global, ReflectApply, ReflectDefineProperty, StringCtor, NumberCtor, MathMax, MathTrunc, MapCtor,
  SymbolToStringTag, NumberToFixed, newList, StringIndexOf, StringReplace, StringSlice, ArrayPush, ArrayJoin,
  MapGet, MapSet, MapHas, MapDelete,
} from './primordials.js';
import { OVERSIZE, oversize, takeOversizeText, renderValue } from './render.js';
import { engine } from './engine.js';

// The bridge (set by installConsole): Log and Now are all the console uses of it.
let bridge = null;
let consoleCharBudget = 0;
let groupIndent = '';
const counts = new MapCtor();
const timers = new MapCtor();

function formatArgs(args) {
  // Rendering stops a little past the remaining budget; the bridge then refuses the entry and
  // ends the execution with output_limit. No giant string is ever built, flattened or copied to
  // .NET: a piece that does not fit comes back as OVERSIZE, and the entry returned is then a rope
  // whose length alone (read by emitEntry) says it is too long.
  const budget = consoleCharBudget;
  const parts = newList();
  let used = 0;
  let start = 0;
  try {
    if (args.length > 0 && typeof args[0] === 'string') {
      if (args[0].length > budget) throw oversize(args[0]);
      if (StringIndexOf(args[0], '%') >= 0) {
        const fmt = args[0];
        let next = 1;
        const formatted = StringReplace(fmt, /%[sdifoOc%]/g, (spec) => {
          if (spec === '%%') return '%';
          if (next >= args.length) return spec;
          const arg = args[next++];
          let text;
          switch (spec) {
            case '%s': text = typeof arg === 'string' ? arg : renderValue(arg, MathMax(0, budget - used), true); break;
            case '%d': case '%i': text = typeof arg === 'bigint' ? StringCtor(arg) + 'n' : toNumberText(arg, true); break;
            case '%f': text = toNumberText(arg, false); break;
            case '%c': text = ''; break;
            default: text = renderValue(arg, MathMax(0, budget - used), true); break;
          }
          if (text.length > budget - used) throw oversize(text);
          used += text.length;
          return text;
        });
        ArrayPush(parts, formatted);
        used = formatted.length;
        start = next;
      }
    }
    for (let i = start; i < args.length && used <= budget; i++) {
      const text = renderValue(args[i], MathMax(0, budget - used), true);
      ArrayPush(parts, text);
      used += text.length + 1;
    }
  } catch (e) {
    if (e !== OVERSIZE) throw e;
    // A rope of the pieces so far and the one that did not fit: never read, only measured.
    const text = takeOversizeText();
    return text.length > budget ? text : ArrayJoin(parts, ' ') + ' ' + text;
  }
  return ArrayJoin(parts, ' ');
}

function toNumberText(value, integer) {
  try {
    const n = NumberCtor(value);
    return StringCtor(integer ? MathTrunc(n) : n);
  } catch (notConvertible) {
    return 'NaN';
  }
}

function elapsedText(since) {
  return ReflectApply(NumberToFixed, bridge.Now() - since, [3]) + ' ms';
}

function emitEntry(level, text) {
  // Length first: `text` may be a rope of a script's huge string (see formatArgs).
  if (text.length <= consoleCharBudget && groupIndent !== '') {
    // The indented length is known before the indented text is made (deep groups times many lines).
    let lines = 1;
    for (let at = StringIndexOf(text, '\n'); at >= 0; at = StringIndexOf(text, '\n', at + 1)) lines++;
    const indentedLength = text.length + lines * groupIndent.length;
    if (indentedLength > consoleCharBudget) {
      bridge.Log(level, '', indentedLength);
      return;
    }
    text = groupIndent + StringReplace(text, /\n/g, '\n' + groupIndent);
  }
  if (text.length > consoleCharBudget) {
    // Each UTF-16 unit is at least one UTF-8 byte, so this text cannot fit: report it as over
    // the limit without copying it out of the isolate.
    bridge.Log(level, '', text.length);
    return;
  }
  const accepted = bridge.Log(level, text, 0);
  consoleCharBudget -= text.length;
  if (!accepted) consoleCharBudget = -1;
}

function log(level) {
  return function (...args) { emitEntry(level, formatArgs(args)); };
}

const consoleObject = {
  log: log('log'),
  info: log('info'),
  warn: log('warn'),
  error: log('error'),
  debug: log('debug'),
  trace(...args) {
    const frames = engine.stackHere();
    const message = formatArgs(args);
    emitEntry('trace', 'Trace' + (message !== '' ? ': ' + message : '') + (frames !== '' ? '\n' + frames : ''));
  },
  dir(item) {
    let text;
    try {
      text = renderValue(item, consoleCharBudget, true);
    } catch (e) {
      if (e !== OVERSIZE) throw e;
      text = takeOversizeText();   // longer than the budget: emitEntry refuses it by its length
    }
    emitEntry('log', text);
  },
  dirxml: log('log'),
  table: log('log'),
  assert(condition, ...args) {
    if (condition) return;
    if (args.length > 0 && typeof args[0] === 'string') {
      args[0] = 'Assertion failed: ' + args[0];
    } else {
      args = ['Assertion failed', ...args];
    }
    emitEntry('error', formatArgs(args));
  },
  clear() { groupIndent = ''; },
  count(label = 'default') {
    label = StringCtor(label);
    if (label.length > consoleCharBudget) { emitEntry('info', label); return; }
    const n = (MapGet(counts, label) || 0) + 1;
    MapSet(counts, label, n);
    emitEntry('info', label + ': ' + n);
  },
  countReset(label = 'default') {
    label = StringCtor(label);
    if (label.length > consoleCharBudget) { emitEntry('warn', label); return; }
    if (MapHas(counts, label)) MapSet(counts, label, 0);
    else emitEntry('warn', "Count for '" + label + "' does not exist");
  },
  group(...args) {
    if (args.length > 0) emitEntry('log', formatArgs(args));
    groupIndent += '  ';
  },
  groupCollapsed(...args) {
    if (args.length > 0) emitEntry('log', formatArgs(args));
    groupIndent += '  ';
  },
  groupEnd() { groupIndent = StringSlice(groupIndent, 2); },
  time(label = 'default') {
    // A label too long to print is too long to look up (a Map lookup flattens it).
    label = StringCtor(label);
    if (label.length > consoleCharBudget) { emitEntry('warn', label); return; }
    if (MapHas(timers, label)) { emitEntry('warn', "Timer '" + label + "' already exists"); return; }
    MapSet(timers, label, bridge.Now());
  },
  timeLog(label = 'default', ...args) {
    label = StringCtor(label);
    if (label.length > consoleCharBudget) { emitEntry('warn', label); return; }
    if (!MapHas(timers, label)) { emitEntry('warn', "Timer '" + label + "' does not exist"); return; }
    const extra = args.length > 0 ? ' ' + formatArgs(args) : '';
    emitEntry('info', label + ': ' + elapsedText(MapGet(timers, label)) + extra);
  },
  timeEnd(label = 'default') {
    label = StringCtor(label);
    if (label.length > consoleCharBudget) { emitEntry('warn', label); return; }
    if (!MapHas(timers, label)) { emitEntry('warn', "Timer '" + label + "' does not exist"); return; }
    emitEntry('info', label + ': ' + elapsedText(MapGet(timers, label)));
    MapDelete(timers, label);
  },
};

// The budget of an execution, set by start() before any user code runs.
export function setConsoleBudget(chars) {
  consoleCharBudget = chars;
}

export function installConsole(theBridge) {
  bridge = theBridge;
  ReflectDefineProperty(consoleObject, SymbolToStringTag, { value: 'console', configurable: true });
  ReflectDefineProperty(global, 'console', { value: consoleObject, writable: true, configurable: true, enumerable: false });
}
