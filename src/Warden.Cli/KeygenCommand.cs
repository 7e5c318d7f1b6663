using System.CommandLine;
using Warden.Server;

namespace Warden.Cli;

/// <summary>`warden keygen NAME`: a new random API key, and the configuration that holds only its hash.</summary>
internal static class KeygenCommand
{
    public static Command Build(TextWriter stdout)
    {
        var name = new Argument<string>("NAME") { Description = "The tenant's name (A-Z, a-z, 0-9, '-', '_')." };
        var command = new Command("keygen", "Make a new API key for `warden serve`: prints the key (give it to the tenant, once) and the hash to configure.") { name };
        command.SetAction(parse =>
        {
            var (token, hash) = ApiKeyAuthenticator.NewKey();
            string tenant = parse.GetValue(name)!;
            stdout.WriteLine($"key (shown once; Authorization: Bearer <key>): {token}");
            stdout.WriteLine("configuration (appsettings.json, Warden:Server:ApiKeys):");
            stdout.WriteLine($"  {{ \"Name\": \"{tenant}\", \"Sha256\": \"{hash}\" }}");
            stdout.WriteLine($"or environment: Warden__Server__ApiKeys__0__Name={tenant} Warden__Server__ApiKeys__0__Sha256={hash}");
            return 0;
        });
        return command;
    }
}
