// Headless Chromium as the playground's browser tests start it (drive.mjs, attack.mjs): a fresh profile each time.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

/** Starts Chromium at executablePath; returns { browser, profile } (the profile directory is the caller's to remove). */
export async function launchChromium(executablePath, profilePrefix) {
  const profile = await mkdtemp(join(tmpdir(), profilePrefix));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    userDataDir: profile,
    // Root in CI containers cannot use Chromium's own sandbox (the page is Warden's own). Without the background
    // networking flags Chromium tries Google's hosts at every start, which this machine's closed network refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return { browser, profile };
}
