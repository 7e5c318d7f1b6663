// V8's stack-trace text, reduced to the submission's own frames: V8 writes frames as
// "at f (doc:L:C)", "at async f (doc:L:C)" or "at doc:L:C", and classic scripts run through
// indirect eval, so their frames read "at f (eval at start (warden:prelude...), <anonymous>:L:C)".
import {
  ErrorCtor, ReflectApply, newList, StringSlice, StringSplit, StringEndsWith, StringStartsWith, StringReplace, RegExpExec,
  ArrayPush, ArrayPop, ArrayJoin,
} from '../../Prelude/primordials.js';
import { boundedStackLines } from '../../Prelude/stack-lines.js';

// Captured before any user code runs: a script may replace Error.captureStackTrace, and would then be
// handed stackHere itself (its second argument) and get a function of the prelude's.
const ErrorCaptureStackTrace = ErrorCtor.captureStackTrace;

// The documents of the submission: what a kept stack frame may name as its location, and the name
// a classic script's frames are given. Set by start().
let userDocuments = newList();
let scriptName = 'script.js';
export function setDocuments(entryName, documentNames) {
  scriptName = entryName;
  for (let i = 0; i < documentNames.length; i++) ArrayPush(userDocuments, documentNames[i]);
}

// "at f (doc:L:C)", "at async f (doc:L:C)" or "at doc:L:C", where doc is one of userDocuments.
// Compared as whole names, not parsed, since a module's name may itself hold spaces or parentheses.
function isUserFrame(frame) {
  const position = RegExpExec(/:\d+:\d+(\)?)$/, frame);
  if (position === null) return false;
  const head = StringSlice(frame, 0, frame.length - position[0].length);
  for (let i = 0; i < userDocuments.length; i++) {
    const doc = userDocuments[i];
    if (position[1] === ')'
      ? StringEndsWith(head, ' (' + doc)
      : head === 'at ' + doc || head === 'at async ' + doc) {
      return true;
    }
  }
  return false;
}

// Stack text: keep only frames of user code, with their line and column, in V8's format.
// Classic scripts run through indirect eval, so their frames read
// "at f (eval at start (warden:prelude...), <anonymous>:L:C)"; they become "at f (script.js:L:C)".
export function cleanStackText(stack, keepHeader) {
  // Stack text can be set by the script: bounded before any regular expression sees it.
  const lines = boundedStackLines(stack);
  if (typeof lines === 'string') return lines;
  const kept = newList();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = StringReplace(line, /^\s+/, '');
    if (!StringStartsWith(trimmed, 'at ')) {
      if (keepHeader) ArrayPush(kept, line);
      continue;
    }
    const evalFrame = RegExpExec(/^at (.*?) ?\(eval at .*, <anonymous>:(\d+):(\d+)\)$/, trimmed);
    if (evalFrame !== null) {
      const name = evalFrame[1];
      const where = scriptName + ':' + evalFrame[2] + ':' + evalFrame[3];
      ArrayPush(kept, name === 'eval' || name === '' ? '    at ' + where : '    at ' + name + ' (' + where + ')');
      continue;
    }
    // SECURITY: a frame is kept only if its location is a document of the submission (or it is
    // a built-in called from one, whose location V8 always writes as "<anonymous>"). Stack text
    // repeats the message, so a message or a thrown string could otherwise plant frames that
    // name any path ("at /etc/passwd:1:1"), and Warden's own frames must not show either.
    const frame = StringReplace(trimmed, / \[(?:temp|\d+)\]/g, '');
    if (!isUserFrame(frame) && (frame === 'at eval (<anonymous>)'
        || RegExpExec(/^at (?:new )?[A-Za-z$_][\w$.]* \(<anonymous>\)$/, frame) === null)) {
      continue;
    }
    ArrayPush(kept, '    ' + frame);
  }
  // Built-in frames at the bottom were called by the prelude (e.g. JSON.stringify of the
  // result), not by user code.
  while (kept.length > 0 && RegExpExec(/\(<anonymous>\)$/, kept[kept.length - 1]) !== null) ArrayPop(kept);
  return ArrayJoin(kept, '\n');
}

// console.trace: the frames of the current call stack (V8's Error.captureStackTrace), cleaned.
export function stackHere() {
  const holder = {};
  // Frames from the caller of stackHere on: as many of the script's frames as when console.trace captured them itself.
  ReflectApply(ErrorCaptureStackTrace, ErrorCtor, [holder, stackHere]);
  return typeof holder.stack === 'string' ? cleanStackText(holder.stack, false) : '';
}
