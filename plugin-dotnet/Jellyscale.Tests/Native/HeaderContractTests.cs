using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Jellyscale.Core.Native;
using Jellyscale.Tests.Support;
using Xunit;

namespace Jellyscale.Tests.Native;

/// <summary>The P/Invoke declarations match the committed C header (include/jellyscale.h), so ABI drift fails here first.</summary>
public sealed partial class HeaderContractTests
{
    private static readonly string Header = File.ReadAllText(Path.Combine(Prerequisites.RepoRoot, "include", "jellyscale.h"));

    [Fact]
    public void Status_values_match_the_header()
    {
        var header = StatusPattern().Matches(Header)
            .ToDictionary(m => Pascal(m.Groups[1].Value), m => uint.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        var managed = Enum.GetValues<JellyscaleStatus>().ToDictionary(v => v.ToString(), v => (uint)v);
        Assert.Equal(header.OrderBy(p => p.Key), managed.OrderBy(p => p.Key));
    }

    [Fact]
    public void Every_header_function_is_declared_with_the_same_number_of_parameters()
    {
        var header = FunctionPattern().Matches(Header)
            .ToDictionary(m => m.Groups[1].Value, m => ParameterCount(m.Groups[2].Value));
        var managed = typeof(NativeMethods)
            .GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(m => m.Name.StartsWith("jellyscale_", StringComparison.Ordinal) && m.IsDefined(typeof(System.Runtime.InteropServices.LibraryImportAttribute)))
            .ToDictionary(m => m.Name, m => m.GetParameters().Length);
        Assert.NotEmpty(header);
        Assert.Equal(header.OrderBy(p => p.Key), managed.OrderBy(p => p.Key));
    }

    private static int ParameterCount(string parameters)
    {
        var text = parameters.Trim();
        return text is "void" or "" ? 0 : text.Count(c => c == ',') + 1 - CallbackCommas(text);
    }

    // Commas inside a function-pointer parameter type do not separate our parameters.
    private static int CallbackCommas(string text) => Regex.Matches(text, @"\([^()]*\)").Sum(m => m.Value.Count(c => c == ','));

    private static string Pascal(string snake)
        => string.Concat(snake.Split('_').Select(w => w[..1] + w[1..].ToLowerInvariant()));

    [GeneratedRegex(@"JELLYSCALE_STATUS_([A-Z_]+) = (\d+)")]
    private static partial Regex StatusPattern();

    [GeneratedRegex(@"^(?:JellyscaleStatus|void|uint32_t)\s+(jellyscale_[a-z_]+)\(([^;]*)\);", RegexOptions.Multiline)]
    private static partial Regex FunctionPattern();
}
