// Runs one script through Warden, configured from appsettings.json (Warden:Sandbox), and prints its
// outcome as JSON, as `warden run` does:
//   dotnet run                          a built-in script
//   dotnet run -- script.js [input.json]
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Warden;

var builder = Host.CreateApplicationBuilder(args);
// stdout carries the outcome JSON only: logs go to stderr.
builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.AddWarden(builder.Configuration);

using var host = builder.Build();
await host.StartAsync(); // validates the sandbox options (ValidateOnStart)
var sandbox = host.Services.GetRequiredService<Sandbox>();

var submission = args.Length > 0
    ? new Submission { Code = File.ReadAllText(args[0]), InputJson = args.Length > 1 ? File.ReadAllText(args[1]) : null }
    : new Submission { Code = "console.log('hello from the sandbox'); ({ sum: input.a + input.b })", InputJson = """{ "a": 2, "b": 40 }""" };
Outcome outcome = await sandbox.RunAsync(submission);
Console.WriteLine(OutcomeJson.Serialize(outcome));

await host.StopAsync();
return outcome.Status == OutcomeStatus.Ok ? 0 : 1;
