// Runtime patch for @portkey-ai/gateway on Node 20 (Portkey-AI/gateway#1389, #1550; the fix of PR #1390/#1551):
// its ResponseService.updateHeaders() appends x-portkey-* headers to the upstream fetch Response,
// whose headers are immutable per the fetch spec, so streaming and embeddings answer 500
// ("TypeError: immutable"). The upstream fix clones the response into `new Response(body, init)`
// before updating headers; we do the same clone at the fetch boundary, without touching node_modules.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const response = await realFetch(input, init);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: new Headers(response.headers) });
};
