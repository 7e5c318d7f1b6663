// A minimal API over Warden: POST a script as text to /run, get its outcome JSON back.
//   curl -s --data-binary @script.js -H 'Content-Type: text/plain' http://127.0.0.1:5080/run
// Health: /healthz (the sandbox is up), /readyz (a locked-down worker really started; its data names the OS layers).
using Warden;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddWarden(builder.Configuration);
builder.Services.AddHealthChecks().AddWardenHealthChecks();
var app = builder.Build();

app.MapHealthChecks("/healthz", new() { Predicate = check => check.Tags.Contains("live") });
app.MapHealthChecks("/readyz", new() { Predicate = check => check.Tags.Contains("ready") });

app.MapPost("/run", async (HttpRequest request, Sandbox sandbox, CancellationToken cancellationToken) =>
{
    using var reader = new StreamReader(request.Body);
    string code = await reader.ReadToEndAsync(cancellationToken);
    Outcome outcome = await sandbox.RunAsync(new Submission { Code = code }, cancellationToken);
    return Results.Text(OutcomeJson.Serialize(outcome), "application/json");
});

app.Run();
