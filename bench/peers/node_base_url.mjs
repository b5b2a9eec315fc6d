// Points the npm `mistral-mcp` server at the bench stub. That server builds its Mistral client
// with no server URL option and reads no base-URL environment variable (dist/index.js: `new
// Mistral({ apiKey, retryConfig, timeoutMs })`), and the SDK's URL comes from its built-in
// server list. The least invasive way in is this preload (`node --import`): it wraps the global
// fetch the SDK uses and sends every request to $BENCH_UPSTREAM instead, path and query kept.
// Nothing in node_modules is modified, and no request can leave 127.0.0.1.
const upstream = process.env.BENCH_UPSTREAM;
if (!upstream) {
  throw new Error("node_base_url.mjs: set BENCH_UPSTREAM to the stub's base URL");
}
const base = new URL(upstream);
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const request = new Request(input, init);
  const url = new URL(request.url);
  if (url.host === base.host && url.protocol === base.protocol) {
    return realFetch(request);
  }
  url.protocol = base.protocol;
  url.host = base.host;
  return realFetch(new Request(url, request));
};
