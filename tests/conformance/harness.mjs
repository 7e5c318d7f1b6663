// Runs every case of cases.mjs in order and reports what each one gave. Used unchanged by Warden
// (as a named module of one submission) and by Chromium (in a module worker: run-in-chromium.mjs).
import cases from './cases.mjs';

export async function runCases(environment) {
  const results = [];
  for (const testCase of cases) {
    if (testCase.only !== undefined && testCase.only !== environment) continue;
    let actual;
    try {
      actual = JSON.stringify(await testCase.run());
    } catch (e) {
      actual = 'threw ' + (e !== null && typeof e === 'object' ? e.name : String(e));
    }
    const expected = JSON.stringify(testCase.expected);
    results.push({ name: testCase.name, pass: actual === expected, actual, expected });
  }
  return results;
}
