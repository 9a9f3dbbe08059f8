// Playwright's test runner on taskapi's UI, beside gaterun's browser stage (bench/run, `browser`).
// Debian's Chromium, never a downloaded one; as root it needs --no-sandbox, as gaterun's does.
const { defineConfig } = require("@playwright/test");

module.exports = defineConfig({
  testDir: ".",
  testMatch: "ui.spec.js",
  fullyParallel: true,
  reporter: "line",
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL: process.env.WEB_URL,
    headless: true,
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox"],
    },
  },
});
