// The JavaScript of every benchmark workload: one source for every system (PROTOCOL.md).
// Format kept trivial on purpose, so the .NET orchestrator can read it without a JS engine:
// one `export const name = \`...\`;` per workload, no backticks or ${} inside.
export const tinyInput = `{"a":1,"b":2}`;
export const tiny = `JSON.stringify({sum: input.a + input.b})`;
export const fib = `function fib(n){return n<2?n:fib(n-1)+fib(n-2)} fib(30)`;
export const json = `const items = [];
for (let i = 0; i < 8000; i++) items.push({ id: i, name: 'item-' + i, tags: ['alpha', 'beta', 'gamma'], value: i * 1.5, nested: { x: i, y: 'why' } });
const text = JSON.stringify(items);
const parsed = JSON.parse(text);
const out = JSON.stringify(parsed.map((o) => ({ id: o.id, total: o.value * 2, label: o.name.toUpperCase(), tag: o.tags.join('-') })));
text.length + ':' + out.length`;
export const kill = `while(true){}`;
export const heapBomb = `const a=[]; for(;;) a.push({x: new Array(100).fill(1)})`;
export const bufferBomb = `const a=[]; for(;;) a.push(new ArrayBuffer(1<<20))`;
export const churn = `let keep=null; for(let i=0;i<16384;i++){ keep=new Array(8192).fill(i); } keep.length`;
