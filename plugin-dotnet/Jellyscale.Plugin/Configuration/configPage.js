// Jellyscale dashboard page: settings and the jobs panel. Loaded by jellyfin-web as __plugin/jellyscale.js.
const pluginId = 'facb9195-8c77-46ac-95e9-c2d9250c80ad';
const fields = ['UseUpscaledStream', 'ApplyToAllUsers', 'TargetMode', 'ScaleFactor', 'MaxHeight', 'CodecPolicy', 'CopySourceAsFallback', 'Backend',
    'FfmpegPath', 'FfprobePath', 'VaapiDevice', 'CpuPreset', 'ShaderPath', 'SegmentSeconds', 'FirstSegmentSeconds', 'KeyframeReadSeconds',
    'OutputLocation', 'OutputDirectory', 'CacheDirectory', 'MaxConcurrentJobs', 'MaxQueuedJobs', 'ResumeUnfinished', 'AfterViewerLeaves',
    'IdleTimeoutSeconds', 'ViewerIdleSeconds', 'CleanupMaxAgeDays', 'CleanupMaxSizeGb'];

function escapeHtml(text) {
    const div = document.createElement('div');
    div.textContent = text == null ? '' : String(text);
    return div.innerHTML;
}

function formatEta(seconds) {
    if (seconds == null) {
        return '';
    }
    const s = Math.round(seconds);
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
}

function renderChecklist(container, items, checkedIds, className) {
    container.innerHTML = items.map(item =>
        '<label class="emby-checkbox-label" style="display:block;"><input type="checkbox" is="emby-checkbox" class="' + className
        + '" data-id="' + escapeHtml(item.id) + '"' + (checkedIds.includes(item.id) ? ' checked' : '') + '/><span>'
        + escapeHtml(item.name) + '</span></label>').join('');
}

function checkedIds(view, className) {
    return Array.from(view.querySelectorAll('.' + className)).filter(c => c.checked).map(c => c.getAttribute('data-id'));
}

function load(view) {
    Dashboard.showLoadingMsg();
    Promise.all([
        ApiClient.getPluginConfiguration(pluginId),
        ApiClient.getUsers(),
        ApiClient.getVirtualFolders()
    ]).then(([config, users, folders]) => {
        for (const name of fields) {
            const input = view.querySelector('#' + name);
            if (input.type === 'checkbox') {
                input.checked = !!config[name];
            } else {
                input.value = config[name] == null ? '' : config[name];
            }
        }
        renderChecklist(view.querySelector('#UserList'), users.map(u => ({ id: u.Id, name: u.Name })), config.UserIds || [], 'jellyscaleUser');
        renderChecklist(view.querySelector('#LibraryList'), folders.map(f => ({ id: f.ItemId, name: f.Name })), config.PreUpscaleLibraryIds || [], 'jellyscaleLibrary');
        Dashboard.hideLoadingMsg();
    });
}

function save(view) {
    Dashboard.showLoadingMsg();
    ApiClient.getPluginConfiguration(pluginId).then(config => {
        for (const name of fields) {
            const input = view.querySelector('#' + name);
            if (input.type === 'checkbox') {
                config[name] = input.checked;
            } else if (input.type === 'number') {
                config[name] = parseInt(input.value, 10) || 0;
            } else {
                config[name] = input.value;
            }
        }
        config.UserIds = checkedIds(view, 'jellyscaleUser');
        config.PreUpscaleLibraryIds = checkedIds(view, 'jellyscaleLibrary');
        ApiClient.updatePluginConfiguration(pluginId, config).then(result => Dashboard.processPluginConfigurationUpdateResult(result));
    });
}

// How the job keeps its viewers playing: the verdict, the preset, and the fallback or hold.
function playback(job) {
    const parts = [];
    if (job.Verdict) {
        parts.push(job.Verdict.replace('_', ' '));
    }
    if (job.Preset) {
        parts.push('preset ' + job.Preset);
    }
    if (job.ViewerOn) {
        parts.push(job.ViewerOn === 'original' ? 'viewer on the original (copied)' : 'viewer on the ' + job.ViewerOn + ' variant');
    }
    if (job.Held) {
        parts.push('held for other viewers');
    }
    return parts.join(', ');
}

// The progress bar: one filled piece per range of ready segments, so seeks show as holes.
function progressBar(job) {
    const count = Math.max(job.SegmentCount || 0, 1);
    const pieces = (job.ReadyRanges || []).map(([first, last]) =>
        '<span class="jellyscaleReady" style="position:absolute;top:0;bottom:0;background:#00a4dc;left:'
        + (100 * first / count).toFixed(3) + '%;width:' + (100 * (last - first + 1) / count).toFixed(3) + '%;"></span>').join('');
    return '<div class="jellyscaleBar" title="' + (job.Progress * 100).toFixed(1) + '%" style="position:relative;height:.6em;min-width:8em;background:rgba(128,128,128,.35);">'
        + pieces + '</div>' + (job.Progress * 100).toFixed(1) + '%';
}

function refreshJobs(view) {
    ApiClient.getJSON(ApiClient.getUrl('Jellyscale/Jobs')).then(jobs => {
        view.querySelector('#JobMessage').textContent = jobs.length ? '' : 'No jobs yet.';
        view.querySelector('#JobRows').innerHTML = jobs.map(job =>
            '<tr><td>' + escapeHtml(job.Input) + '</td><td>' + escapeHtml(job.Error ? job.State + ': ' + job.Error : job.State)
            + '</td><td>' + escapeHtml(job.Width + 'x' + job.Height + ' ' + job.Codec)
            + '</td><td>' + progressBar(job) + '</td><td>' + job.Fps.toFixed(1)
            + '</td><td>' + job.Speed.toFixed(2) + 'x</td><td>' + formatEta(job.EtaSeconds)
            + '</td><td>' + escapeHtml(job.Upscaler)
            + '</td><td>' + escapeHtml(playback(job)) + '</td><td class="jellyscaleAdaptation">' + escapeHtml(job.LastAdaptation) + '</td><td>'
            // The server says which jobs can still be cancelled (paused ones too): no state list here.
            + (job.Cancelable
                ? '<button is="emby-button" type="button" class="raised emby-button jellyscaleCancel" data-id="' + escapeHtml(job.JobId) + '">Cancel</button>'
                : '')
            + '</td></tr>').join('');
    }, () => {
        view.querySelector('#JobMessage').textContent = 'The upscale engine is not available; see the server log.';
    });
}

export default function (view) {
    let timer = null;
    view.querySelector('#JellyscaleConfigForm').addEventListener('submit', e => {
        e.preventDefault();
        save(view);
        return false;
    });
    view.querySelector('#JobRows').addEventListener('click', e => {
        const button = e.target.closest('.jellyscaleCancel');
        if (button) {
            ApiClient.ajax({ type: 'POST', url: ApiClient.getUrl('Jellyscale/Jobs/' + button.getAttribute('data-id') + '/Cancel') })
                .then(() => refreshJobs(view));
        }
    });
    view.addEventListener('viewshow', () => {
        load(view);
        refreshJobs(view);
        timer = setInterval(() => refreshJobs(view), 2000);
    });
    view.addEventListener('viewhide', () => {
        clearInterval(timer);
        timer = null;
    });
}
