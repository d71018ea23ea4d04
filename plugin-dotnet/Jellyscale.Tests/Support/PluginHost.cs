using System;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Plugin;
using Jellyscale.Plugin.Api;
using Jellyscale.Plugin.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jellyscale.Tests.Support;

/// <summary>A configuration the test changes at will.</summary>
public sealed class TestConfigurationAccessor : IPluginConfigurationAccessor
{
    public PluginConfiguration Current { get; set; } = new() { UseUpscaledStream = true };
}

/// <summary>
/// An ASP.NET Core MVC host shaped like Jellyfin's: its authentication scheme and claims, the
/// RequiresElevation policy, PascalCase JSON with string enums, the plugin's controllers and filter.
/// </summary>
public static class PluginHost
{
    public static async Task<WebApplication> StartAsync(IStreamEngineProvider engines, TestConfigurationAccessor configuration, StandInLibrary? library = null, bool kestrel = false, Action<WebApplication>? extraRoutes = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (kestrel)
        {
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Services.AddSingleton<IPluginConfigurationAccessor>(configuration);
        builder.Services.AddSingleton(engines);
        builder.Services.AddSingleton(library ?? new StandInLibrary());
        builder.Services.AddAuthentication(TestAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization(options =>
            options.AddPolicy(JobsController.RequiresElevation, policy => policy.RequireRole("Administrator")));
        builder.Services.AddControllers()
            .AddApplicationPart(typeof(StreamsController).Assembly)
            .AddApplicationPart(typeof(PluginHost).Assembly)
            .AddJsonOptions(options =>
            {
                options.JsonSerializerOptions.PropertyNamingPolicy = null;
                options.JsonSerializerOptions.Converters.Add(new JsonStringEnumConverter());
            });
        builder.Services.AddJellyscalePlayback();

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapControllers();
        extraRoutes?.Invoke(app);
        await app.StartAsync();
        return app;
    }

    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = null,
        Converters = { new JsonStringEnumConverter() },
    };
}
