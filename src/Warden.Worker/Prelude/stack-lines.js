// The lines of a stack text as an engine's cleaner reads them (Engines/*/: V8's stack-text.js, QuickJS's
// prelude-quickjs.js), bounded before any regular expression sees them: stack text can be set by the script.
import { newList, StringSlice, StringSplit, ArrayPush } from './primordials.js';
import { SAFE_PREFIX_CHARS, hugeStringText } from './render.js';

const STACK_SCAN_CHARS = 64 * 1024;
const STACK_LINE_CHARS = 1000;

// The lines of the first 64 KiB of `stack`, each cut to 1000 characters; or, for a stack text too long to cut
// safely, the placeholder text that stands for it (a string, not a list).
export function boundedStackLines(stack) {
  if (stack.length > SAFE_PREFIX_CHARS) return hugeStringText(stack.length);
  if (stack.length > STACK_SCAN_CHARS) stack = StringSlice(stack, 0, STACK_SCAN_CHARS);
  const lines = StringSplit(stack, '\n');
  const bounded = newList();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    ArrayPush(bounded, line.length > STACK_LINE_CHARS ? StringSlice(line, 0, STACK_LINE_CHARS) : line);
  }
  return bounded;
}
