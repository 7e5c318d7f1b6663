// An ES module: the default export is the result; a function is called with `input`.
export default async function (input) {
  await null;
  return { greeting: `hello, ${input?.name ?? 'world'}` };
}
