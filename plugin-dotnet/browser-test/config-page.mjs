// Loads the plugin's dashboard page and script in headless Chromium with stand-ins for
// jellyfin-web's ApiClient and Dashboard, then checks what an admin sees and what Save and
// Cancel send. Prints one JSON line; exit 0 on success. Usage: node config-page.mjs HTML JS [SCREENSHOT]
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [htmlPath, jsPath, screenshot] = process.argv.slice(2);
const pageHtml = readFileSync(htmlPath, 'utf8');
const body = pageHtml.slice(pageHtml.indexOf('<body>') + 6, pageHtml.indexOf('</body>'));
const origin = 'http://jellyfin.test';

// What jellyfin-web offers plugin pages, recording every call.
const stubs = `
window.calls = [];
const config = { UseUpscaledStream: false, ApplyToAllUsers: false, UserIds: ['u2'], TargetMode: 'Scale', ScaleFactor: 2,
  MaxHeight: 2160, CodecPolicy: 'FollowClient', Backend: '', FfmpegPath: '', FfprobePath: '', SegmentSeconds: 4, OutputLocation: 'CacheFolder',
  OutputDirectory: '', MaxConcurrentJobs: 1, AfterViewerLeaves: 'FinishInBackground', IdleTimeoutSeconds: 60,
  VaapiDevice: '', CpuPreset: 'veryfast', ShaderPath: '', FirstSegmentSeconds: 1, KeyframeReadSeconds: 3, CacheDirectory: '',
  MaxQueuedJobs: 64, ResumeUnfinished: false, ViewerIdleSeconds: 60,
  CleanupMaxAgeDays: 30, CleanupMaxSizeGb: 200, PreUpscaleLibraryIds: [] };
window.ApiClient = {
  getPluginConfiguration: id => { calls.push(['getPluginConfiguration', id]); return Promise.resolve(JSON.parse(JSON.stringify(config))); },
  updatePluginConfiguration: (id, c) => { calls.push(['updatePluginConfiguration', id, c]); return Promise.resolve({}); },
  getUsers: () => Promise.resolve([{ Id: 'u1', Name: 'alice' }, { Id: 'u2', Name: 'bob' }]),
  getVirtualFolders: () => Promise.resolve([{ ItemId: 'l1', Name: 'Movies' }, { ItemId: 'l2', Name: 'Shows' }]),
  getUrl: path => '/' + path,
  getJSON: url => { calls.push(['getJSON', url]); return Promise.resolve([
    { JobId: '0123456789abcdef0123456789abcdef', State: 'paused', Input: 'Film (2020).mkv', Codec: 'h264', Width: 3840, Height: 2160,
      Progress: 0.425, SegmentCount: 100, ReadyRanges: [[0, 9], [50, 79]], Fps: 48.2, Speed: 2.01, EtaSeconds: 754, Error: null,
      Verdict: 'falling_behind', Preset: 'superfast', Upscaler: 'nvenc, lanczos', Held: false, ViewerOn: 'original', Cancelable: true,
      LastAdaptation: 'falling behind the viewer at 0.81x real time: preset veryfast -> superfast' },
    { JobId: 'ffffffffffffffffffffffffffffffff', State: 'done', Input: 'Old <b>.mkv', Codec: 'hevc', Width: 1920, Height: 1080,
      Progress: 1, SegmentCount: 10, ReadyRanges: [[0, 9]], Fps: 0, Speed: 0, EtaSeconds: null, Error: null, Upscaler: 'nvenc, lanczos',
      Cancelable: false }]); },
  ajax: options => { calls.push(['ajax', options.type, options.url]); return Promise.resolve(); },
};
window.Dashboard = {
  showLoadingMsg: () => {}, hideLoadingMsg: () => {},
  processPluginConfigurationUpdateResult: () => calls.push(['processed']),
};`;
const wrapper = `<!DOCTYPE html><html><head><meta charset="utf-8"><script>${stubs}</script></head><body>${body}
<script type="module">
  import init from '/web/configurationpage?name=jellyscale.js';
  const view = document.getElementById('JellyscaleConfigPage');
  init(view);
  view.dispatchEvent(new Event('viewshow'));
</script></body></html>`;

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };
let seen = {};
try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(e.message));
    await page.route(origin + '/**', route => {
        const url = route.request().url();
        if (url.includes('configurationpage')) {
            return route.fulfill({ contentType: 'text/javascript', body: readFileSync(jsPath, 'utf8') });
        }
        return route.fulfill({ contentType: 'text/html', body: wrapper });
    });
    await page.goto(origin + '/web/index.html');
    await page.waitForSelector('.jellyscaleCancel', { timeout: 15000 });
    await page.waitForFunction(() => document.querySelectorAll('.jellyscaleUser').length === 2, null, { timeout: 15000 });

    seen = await page.evaluate(() => ({
        maxHeight: document.getElementById('MaxHeight').value,
        toggle: document.getElementById('UseUpscaledStream').checked,
        users: Array.from(document.querySelectorAll('.jellyscaleUser')).map(c => [c.getAttribute('data-id'), c.checked]),
        libraries: document.querySelectorAll('.jellyscaleLibrary').length,
        rows: Array.from(document.querySelectorAll('#JobRows tr')).map(r => r.innerText.replace(/\s+/g, ' ').trim()),
        cancelButtons: document.querySelectorAll('.jellyscaleCancel').length,
        lastAdaptation: document.querySelector('#JobRows tr .jellyscaleAdaptation').textContent,
        bar: Array.from(document.querySelectorAll('#JobRows tr:first-child .jellyscaleReady')).map(s => [s.style.left, s.style.width]),
        escaped: document.getElementById('JobRows').innerHTML.includes('Old &lt;b&gt;.mkv'),
    }));
    check(seen.maxHeight === '2160', 'MaxHeight loaded');
    check(seen.toggle === false, 'toggle loaded off');
    check(JSON.stringify(seen.users) === JSON.stringify([['u1', false], ['u2', true]]), 'users listed with the saved choice');
    check(seen.libraries === 2, 'libraries listed');
    check(seen.rows.length === 2 && seen.rows[0].includes('42.5%') && seen.rows[0].includes('12:34') && seen.rows[0].includes('2.01x'), 'job row shows progress, ETA, speed');
    check(seen.rows[0].includes('falling behind, preset superfast, viewer on the original (copied)'), 'job row shows how playback keeps up');
    check(seen.lastAdaptation.includes('preset veryfast -> superfast'), 'the last adaptation is shown');
    check(JSON.stringify(seen.bar) === JSON.stringify([['0%', '10%'], ['50%', '30%']]), 'the progress bar has a piece per ready range, a hole between');
    check(seen.rows[0].includes('nvenc, lanczos'), 'the upscaler is shown');
    check(seen.cancelButtons === 1, 'only the job that can still be cancelled (a paused one) has a cancel button');
    check(seen.escaped, 'file names are escaped');

    if (screenshot) {
        await page.screenshot({ path: screenshot, fullPage: true });
    }

    await page.check('#UseUpscaledStream');
    await page.check('.jellyscaleUser[data-id="u1"]');
    await page.check('.jellyscaleLibrary[data-id="l2"]');
    await page.selectOption('#CodecPolicy', 'AlwaysH264');
    await page.fill('#MaxHeight', '1440');
    await page.fill('#ShaderPath', '/shaders/FSRCNNX.glsl');
    await page.check('#ResumeUnfinished');
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => calls.some(c => c[0] === 'processed'), null, { timeout: 15000 });
    await page.click('.jellyscaleCancel');
    await page.waitForFunction(() => calls.some(c => c[0] === 'ajax'), null, { timeout: 15000 });

    const calls = await page.evaluate(() => window.calls);
    const saved = calls.find(c => c[0] === 'updatePluginConfiguration');
    check(saved && saved[1] === 'facb9195-8c77-46ac-95e9-c2d9250c80ad', 'saved under the plugin id');
    const c = saved ? saved[2] : {};
    check(c.UseUpscaledStream === true && c.MaxHeight === 1440 && c.CodecPolicy === 'AlwaysH264', 'saved the edited fields');
    check(c.ShaderPath === '/shaders/FSRCNNX.glsl' && c.ResumeUnfinished === true && c.ViewerIdleSeconds === 60, 'saved the engine settings');
    check(JSON.stringify(c.UserIds) === JSON.stringify(['u1', 'u2']) && JSON.stringify(c.PreUpscaleLibraryIds) === JSON.stringify(['l2']), 'saved users and libraries');
    const cancel = calls.find(c => c[0] === 'ajax');
    check(cancel && cancel[1] === 'POST' && cancel[2] === '/Jellyscale/Jobs/0123456789abcdef0123456789abcdef/Cancel', 'cancel posts to the job');
    check(errors.length === 0, 'no page errors: ' + errors.join('; '));
} catch (e) {
    failures.push(String(e));
} finally {
    await browser.close();
}
console.log(JSON.stringify({ ok: failures.length === 0, failures, seen }));
process.exit(failures.length === 0 ? 0 : 1);
