// Fetches a package's metadata from the npm registry: run with
//   ./warden run examples/fetch.js --allow-fetch https://registry.npmjs.org --input '{"name":"left-pad"}'
// Without --allow-fetch there is no fetch at all; with it, only that origin is reachable.
(async () => {
  const name = input?.name ?? 'left-pad';
  const res = await fetch(`https://registry.npmjs.org/${encodeURIComponent(name)}/latest`, {
    headers: { accept: 'application/json' },
  });
  if (!res.ok) throw new Error(`registry answered HTTP ${res.status}`);
  const { version, license, description } = await res.json();
  console.log(`fetched ${res.url}`);
  return { name, version, license, description };
})();
