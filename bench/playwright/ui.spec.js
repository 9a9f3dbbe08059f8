// The 20 tests of bench/run's `browser` section, step for step the same as its 20 gaterun gates
// (bench/run writes those): four kinds of check on taskapi's UI, five of each — navigate,
// click, fill, press, wait for, expect title, URL, text and counts. BENCH_RUN makes the titles
// of one run its own (the service and its store outlive a run).
const { test, expect } = require("@playwright/test");

const RUN = process.env.BENCH_RUN || "0";

for (let i = 0; i < 20; i++) {
  const title = `bench-${RUN}-${i}-task`;
  const create = async (page) => {
    await page.goto(`/ui/tasks?q=${title}`);
    await page.click("text=New task");
    await page.fill("#title", title);
    await page.keyboard.press("Enter");
    await page.locator("#task-list li").first().waitFor();
  };
  switch (i % 4) {
    case 0:
      test(`status-${i}`, async ({ page }) => {
        await page.goto("/ui/");
        await page.locator("#health[data-state=ok]").waitFor();
        await expect(page).toHaveTitle(/Status/);
        await expect(page.locator("body")).toContainText("Service: ok");
        await expect(page.locator("#status dd")).toHaveCount(11);
      });
      break;
    case 1:
      test(`create-${i}`, async ({ page }) => {
        await create(page);
        await expect(page.locator("body")).toContainText(title);
        await expect(page.locator("#task-list li")).toHaveCount(1);
      });
      break;
    case 2:
      test(`detail-${i}`, async ({ page }) => {
        await create(page);
        await page.click(`text=${title}`);
        await page.click("text=Move to planned");
        await page.locator("#state[data-state=planned]").waitFor();
        await expect(page).toHaveTitle(new RegExp(title));
        await expect(page.locator("#history li")).toHaveCount(1);
      });
      break;
    default:
      test(`login-${i}`, async ({ page }) => {
        await page.goto("/ui/login");
        await page.fill("#user", "admin");
        await page.fill("#password", "wrong");
        await page.click("#login button");
        await page.locator("#error").waitFor();
        await expect(page.locator("body")).toContainText("Invalid user or password.");
        await expect(page).toHaveURL(/\/login$/);
      });
  }
}
