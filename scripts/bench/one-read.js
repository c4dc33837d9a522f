// The physical limit of a credential check: one indexed D1 read (a one-row table by primary
// key, through the binding), the least that keyward's strict verification can do.
export default {
  async fetch(_request, env) {
    const row = await env.DB.prepare("SELECT value FROM one_row WHERE id = ?").bind(1).first();
    return Response.json({ ok: row !== null });
  },
};
