using System;
using System.IO;
using System.Threading.Tasks;
using Jellyscale.Tests.Support;
using Xunit;

namespace Jellyscale.Tests.Web;

/// <summary>The dashboard page and its script, in headless Chromium with jellyfin-web's ApiClient and Dashboard stood in.</summary>
[Collection(NativeCollection.Name)]
public sealed class ConfigPageTests
{
    [SkippableFact]
    public async Task Page_loads_settings_users_libraries_and_jobs_and_save_and_cancel_send_the_right_calls()
    {
        Prerequisites.Tool(Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium");
        var browserTest = Path.Combine(Prerequisites.PluginDir, "browser-test");
        Prerequisites.Require(Directory.Exists(Path.Combine(browserTest, "node_modules", "playwright-core")), "browser-test/node_modules is missing (run npm ci)");
        var configuration = Path.Combine(Prerequisites.PluginDir, "Jellyscale.Plugin", "Configuration");

        var (code, stdout, stderr) = await Prerequisites.RunAsync(Prerequisites.Tool("/usr/bin/node"), TimeSpan.FromMinutes(2),
            Path.Combine(browserTest, "config-page.mjs"), Path.Combine(configuration, "configPage.html"), Path.Combine(configuration, "configPage.js"));

        Assert.True(code == 0, stdout + stderr);
    }
}
