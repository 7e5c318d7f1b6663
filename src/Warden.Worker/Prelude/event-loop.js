// The event loop: timers, microtasks and the engine's cleanup tasks. The queue lives in this
// isolate, so a timer flood is paid for in heap and CPU like any other allocation; the host only
// asks "what is due next?" (tick(), in entry.js) and waits.
import {
  global, ReflectApply, ReflectDefineProperty, ReflectOwnKeys, NumberCtor, StringCtor, MathFloor, IndirectEval,
  TypeErrorCtor, MapCtor, newList, ArrayPush, ArrayPop, MapGet, MapSet, MapDelete,
} from './primordials.js';

// The bridge (set by installTimers): the event loop uses its clock, Now, only.
let bridge = null;
const queue = newList();      // binary min-heap of timer records ordered by (due, seq)
const activeTimers = new MapCtor();
let nextTimerId = 1;
let nextSeq = 0;
let currentNesting = 0;
export let uncaught = null;          // first error thrown by a timer or microtask callback

function before(a, b) { return a.due < b.due || (a.due === b.due && a.seq < b.seq); }
function heapPush(t) {
  let i = queue.length;
  queue[i] = t;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(queue[i], queue[parent])) break;
    const tmp = queue[i]; queue[i] = queue[parent]; queue[parent] = tmp;
    i = parent;
  }
}
function heapPop() {
  const top = queue[0];
  const last = ArrayPop(queue);
  if (queue.length > 0) {
    queue[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < queue.length && before(queue[l], queue[m])) m = l;
      if (r < queue.length && before(queue[r], queue[m])) m = r;
      if (m === i) break;
      const tmp = queue[i]; queue[i] = queue[m]; queue[m] = tmp;
      i = m;
    }
  }
  return top;
}

function normaliseDelay(delay, nesting) {
  // WebIDL `long`, as in browsers: whole milliseconds (no sub-millisecond timer to time with),
  // wrapping past 2^31 - 1; negative becomes 0.
  let ms = NumberCtor(delay) | 0;
  if (ms < 0) ms = 0;
  // HTML: timers nested more than 5 deep are clamped to at least 4 ms.
  if (nesting > 5 && ms < 4) ms = 4;
  return ms;
}

export function addTimer(handler, delay, args, repeat) {
  if (typeof handler !== 'function') {
    const source = StringCtor(handler);
    handler = () => IndirectEval(source);
  }
  const id = nextTimerId++;
  const nesting = currentNesting + 1;
  const ms = normaliseDelay(delay, nesting);
  const t = { id, due: MathFloor(bridge.Now()) + ms, seq: nextSeq++, handler, args, repeat, ms, nesting, cancelled: false };
  MapSet(activeTimers, id, t);
  heapPush(t);
  return id;
}
export function clearTimer(id) {
  const key = NumberCtor(id);
  const t = MapGet(activeTimers, key);
  if (t !== undefined) {
    t.cancelled = true;
    MapDelete(activeTimers, key);
  }
}
export function reportUncaught(e) {
  if (uncaught === null) uncaught = { error: e };
}

const timerFunctions = {
  setTimeout(handler, delay = 0, ...args) { return addTimer(handler, delay, args, false); },
  setInterval(handler, delay = 0, ...args) { return addTimer(handler, delay, args, true); },
  clearTimeout(id) { clearTimer(id); },
  clearInterval(id) { clearTimer(id); },
  queueMicrotask(callback) {
    if (typeof callback !== 'function') {
      throw new TypeErrorCtor("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
    }
    // `await undefined` queues the job without any lookup a script could intercept.
    (async () => {
      await undefined;
      try { callback(); } catch (e) { reportUncaught(e); }
    })();
  },
};

// Callbacks the engine must not run on its own schedule (V8 runs FinalizationRegistry cleanups as
// tasks of its own, whenever it likes: the V8 part queues them here instead). tick() runs one at a
// time, like a timer, inside an entry from the host and under the watchdog.
const cleanupQueue = newList();
let cleanupHead = 0;
export function queueCleanup(callback, held) {
  ArrayPush(cleanupQueue, { callback, held });
}

// One step of the loop after the host's own checks (see tick in entry.js): a cleanup task, else
// the next due timer. Returns 0 after running something, -1 when nothing is left, else the time
// the next timer is due.
export function runNextTask() {
  if (cleanupHead < cleanupQueue.length) {
    const cleanup = cleanupQueue[cleanupHead++];
    if (cleanupHead === cleanupQueue.length) {
      cleanupQueue.length = 0;
      cleanupHead = 0;
    }
    try {
      ReflectApply(cleanup.callback, undefined, [cleanup.held]);
    } catch (e) {
      reportUncaught(e);
    }
    return 0;
  }
  while (queue.length > 0 && queue[0].cancelled) heapPop();
  if (queue.length === 0) return -1;
  const now = bridge.Now();
  const t = queue[0];
  if (t.due > now) return t.due;
  heapPop();
  if (t.repeat) {
    // Each repeat nests one level deeper, so intervals are clamped to 4 ms as in browsers.
    t.nesting++;
    t.due = MathFloor(now) + normaliseDelay(t.ms, t.nesting);
    t.seq = nextSeq++;
    heapPush(t);
  } else {
    MapDelete(activeTimers, t.id);
  }
  currentNesting = t.nesting;
  try {
    ReflectApply(t.handler, global, t.args);
  } catch (e) {
    reportUncaught(e);
  } finally {
    currentNesting = 0;
  }
  return 0;
}

export function installTimers(theBridge) {
  bridge = theBridge;
  const timerNames = ReflectOwnKeys(timerFunctions);
  for (let i = 0; i < timerNames.length; i++) {
    ReflectDefineProperty(global, timerNames[i], { value: timerFunctions[timerNames[i]], writable: true, configurable: true, enumerable: true });
  }
}
