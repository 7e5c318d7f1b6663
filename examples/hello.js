// A classic script: its completion value (awaited if it is a promise) is the result.
console.log('hello from the sandbox');
const total = input.items.reduce((sum, item) => sum + item.price * item.qty, 0);
new Promise(resolve => setTimeout(() => resolve({ total, items: input.items.length }), 10));
