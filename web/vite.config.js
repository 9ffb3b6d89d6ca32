// Build: `npm run build` → dist/wall.html, dist/console.html, dist/multishop.html, dist/assets/* (hashed names).
// The API serves these under strict CSP (script-src 'self'; style-src 'self'): no inline scripts or
// styles are emitted, nothing is fetched from a CDN, and no asset is inlined as a data: URI.
import { resolve } from "node:path";
import { defineConfig } from "vite";

const here = new URL(".", import.meta.url).pathname;

export default defineConfig({
  base: "/",
  publicDir: false,
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: true,
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 1200,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        wall: resolve(here, "wall.html"),
        console: resolve(here, "console.html"),
        multishop: resolve(here, "multishop.html"),
      },
      output: {
        manualChunks(id) {
          if (id.includes("node_modules/echarts") || id.includes("node_modules/zrender")) return "echarts";
          return undefined;
        },
      },
    },
  },
  // `npm run dev`: hot-reloading pages on :5173 against a running API (make up), e.g.
  // KEFU_API_URL=http://127.0.0.1:8000 npm run dev → http://127.0.0.1:5173/wall.html?shop=…&token=…
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: process.env.KEFU_API_URL || "http://127.0.0.1:8000", ws: true },
      "/healthz": { target: process.env.KEFU_API_URL || "http://127.0.0.1:8000" },
    },
  },
});
