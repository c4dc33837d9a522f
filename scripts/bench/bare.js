// The physical limit without storage: a Worker that answers a small JSON and does nothing else.
export default {
  fetch() {
    return Response.json({ ok: true });
  },
};
