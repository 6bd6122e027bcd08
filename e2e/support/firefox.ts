// Firefox for the multi-browser tests and the Chromium ↔ Firefox benchmark: Debian's
// `firefox-esr`, driven headless by puppeteer-core over WebDriver BiDi (no geckodriver, nothing
// downloaded). Playwright cannot drive a stock Firefox (it needs its own patched build).
// Like Chromium, it only runs inside the private network namespace (netns.ts).
import { existsSync } from "node:fs";
import { type Browser, launch } from "puppeteer-core";

/** Debian's Firefox ESR (`apt-get install firefox-esr`), or `FIREFOX_PATH`. */
export function firefoxExecutable(): string {
  return process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
}

/** Why Firefox cannot run here, or `undefined` when it can. */
export function firefoxUnavailable(): string | undefined {
  const path = firefoxExecutable();
  return existsSync(path) ? undefined : `${path} is missing (apt-get install firefox-esr)`;
}

/**
 * Preferences of the test profile: no first-run pages, update checks, telemetry or connectivity
 * probes, so nothing tries to leave the machine. WebRTC keeps Firefox's defaults (mDNS names for
 * host candidates included): the tests should see what users' browsers do.
 */
const TEST_PREFS: Record<string, unknown> = {
  "app.update.enabled": false,
  "browser.shell.checkDefaultBrowser": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "toolkit.telemetry.enabled": false,
  "network.connectivity-service.enabled": false,
  "network.captive-portal-service.enabled": false,
};

/** A running Firefox. */
export interface FirefoxBrowser {
  readonly browser: Browser;
  /** Kills the process (`browser.close()` takes 3–5 s; a kill 50 ms) and removes its profile. */
  close(): Promise<void>;
}

/** Launches headless Firefox ESR over WebDriver BiDi. `prefs` are added to the test profile's. */
export async function launchFirefox(
  options: { prefs?: Record<string, unknown> } = {},
): Promise<FirefoxBrowser> {
  const browser = await launch({
    browser: "firefox",
    executablePath: firefoxExecutable(),
    headless: true,
    extraPrefsFirefox: { ...TEST_PREFS, ...options.prefs },
  });
  return {
    browser,
    close: async () => {
      const child = browser.process();
      const exited =
        child === null || child.exitCode !== null
          ? Promise.resolve()
          : new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child?.kill("SIGKILL");
      await exited;
      // Puppeteer removes the temporary profile once it sees the browser gone.
      await browser.disconnect().catch(() => {});
    },
  };
}
