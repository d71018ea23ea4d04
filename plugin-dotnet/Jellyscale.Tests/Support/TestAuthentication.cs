using System;
using System.Collections.Generic;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jellyscale.Tests.Support;

/// <summary>
/// Stands in for Jellyfin's CustomAuthenticationHandler: a token from the ApiKey/api_key query or the
/// X-Emby-Token header, mapped to a user with Jellyfin's claim types.
/// </summary>
public sealed class TestAuthenticationHandler : AuthenticationHandler<AuthenticationSchemeOptions>
{
    public const string SchemeName = "CustomAuthentication";
    public const string UserToken = "user-token-0001";
    public const string AdminToken = "admin-token-0001";
    public const string OtherUserToken = "other-token-0001";
    public static readonly Guid UserId = Guid.Parse("11111111-1111-1111-1111-111111111111");
    public static readonly Guid AdminId = Guid.Parse("22222222-2222-2222-2222-222222222222");
    public static readonly Guid OtherUserId = Guid.Parse("33333333-3333-3333-3333-333333333333");

    private static readonly Dictionary<string, (Guid Id, string Role)> Tokens = new()
    {
        [UserToken] = (UserId, "User"),
        [AdminToken] = (AdminId, "Administrator"),
        [OtherUserToken] = (OtherUserId, "User"),
    };

    public TestAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : base(options, logger, encoder)
    {
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? token = Request.Query["ApiKey"];
        token ??= Request.Query["api_key"];
        token ??= Request.Headers["X-Emby-Token"];
        if (token is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!Tokens.TryGetValue(token, out var user))
        {
            return Task.FromResult(AuthenticateResult.Fail("unknown token"));
        }

        var identity = new ClaimsIdentity(
            new[]
            {
                new Claim(ClaimTypes.Role, user.Role),
                new Claim("Jellyfin-UserId", user.Id.ToString()),
                new Claim("Jellyfin-Token", token),
            },
            SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
