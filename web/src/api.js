// REST client for /api/v1/shops/{shop}/… (shared/spec/api.md). The viewer token comes from the page
// URL (?token=) and is sent as Authorization: Bearer. Errors carry the HTTP status and the API's
// {"error", "message"} body; 401/403 are auth errors (the page then shows the access screen).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }

  get isAuth() {
    return this.status === 401 || this.status === 403;
  }
}

const TIMEOUT_MS = 10000;

export function createApi(shop, token) {
  const base = `/api/v1/shops/${encodeURIComponent(shop)}`;

  async function get(path, params = {}) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") query.set(k, v);
    }
    const url = `${base}${path}${query.size ? `?${query}` : ""}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response;
    try {
      response = await fetch(url, {
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
        cache: "no-store",
        signal: controller.signal,
      });
    } catch (err) {
      throw new ApiError(0, "network", err.name === "AbortError" ? "timeout" : String(err.message || err));
    } finally {
      clearTimeout(timer);
    }
    let body;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      throw new ApiError(response.status, body?.error, body?.message);
    }
    return body;
  }

  return {
    shop,
    token,
    agents: (day) => get("/agents", { day }),
    summary: (day) => get("/summary", { day }),
    live: () => get("/live"),
    /** 待催付: open unpaid orders, oldest first (sort "age") or largest first ("amount"). */
    unpaidOrders: (sort = "age", limit = 50) => get("/unpaid-orders", { sort, limit }),
    series: (agentId, minutes = 60) => get("/series", { agent_id: agentId, minutes }),
    /** Recent alerts, newest first; [] when the API has no alert endpoint. */
    alerts: async (limit = 20) => {
      try {
        const body = await get("/alerts", { limit });
        return Array.isArray(body) ? body : body?.alerts ?? [];
      } catch (err) {
        if (err.status === 404) return [];
        throw err;
      }
    },
    settings: () => get("/settings"),
    /** Headline figures vs the same minute yesterday, and targets with pace. */
    progress: () => get("/progress"),
    /** A period: { kind, day } or { start, end } (≤ 92 days); agents carry their KPI score. */
    period: (query) => get("/period", query),
    streamUrl() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      return `${proto}//${location.host}${base}/stream?token=${encodeURIComponent(token)}`;
    },
  };
}
