// ESLint flat config: the recommended rules, plus three that catch real slips (== coercion, var, a
// let never reassigned), for the browser modules in src/ and the Node-side files (configs, tests).
// `npm run lint` is part of `make test` (make test-web), so it must stay clean.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["dist/", "node_modules/"] },
  js.configs.recommended,
  {
    rules: {
      eqeqeq: ["error", "smart"],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
  {
    // The screens: ES2022 modules in the browser (vite.config.js builds for es2022).
    files: ["src/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
  },
  {
    // Tests run under vitest with a happy-dom window, so both Node and browser globals exist there.
    files: ["*.config.js", "test/**/*.js"],
    languageOptions: { ecmaVersion: "latest", sourceType: "module", globals: { ...globals.node, ...globals.browser } },
  },
];
