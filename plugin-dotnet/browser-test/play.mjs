// Opens the player page in Debian's headless Chromium and waits until the video has played past
// a target time and, when heights are given, until frames of every one of those heights have been
// shown (the page switches variants when its URL asks it to). Prints one JSON line; exit 0 on
// success, 1 on failure (a fatal error, or the deadline passing first).
// Usage: node play.mjs URL [seconds] [heights], heights as "720,360".

import { chromium } from 'playwright-core';

const [pageUrl, target = '10', heights = ''] = process.argv.slice(2);
const wantHeights = heights ? heights.split(',').map(Number) : [];
const targetSeconds = Number(target);
const deadlineMs = 120_000;

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
let result;
try {
    const page = await browser.newPage();
    await page.goto(pageUrl);
    try {
        await page.waitForFunction(
            ([t, hs]) => window.playerState && (window.playerState.fatal
                || (window.playerState.currentTime > t && hs.every(h => window.playerState.videoHeights.includes(h)))),
            [targetSeconds, wantHeights],
            { timeout: deadlineMs, polling: 250 });
    } catch {
        // Fall through: the state below says how far it got.
    }
    result = await page.evaluate(() => window.playerState);
} finally {
    await browser.close();
}
const ok = !!result && !result.fatal && result.currentTime > targetSeconds
    && wantHeights.every(h => result.videoHeights.includes(h));
console.log(JSON.stringify({ ok, ...result }));
process.exit(ok ? 0 : 1);
