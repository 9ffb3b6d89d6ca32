// `npm test` (vitest run): the unit tests of the screens' pure modules, in test/. A happy-dom window
// stands in for the browser because i18n.js reads location and localStorage when it is imported.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.js"],
    environment: "happy-dom",
  },
});
