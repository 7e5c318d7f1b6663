using Warden.Cli;

return await WardenCommandLine.InvokeAsync(args, Console.OpenStandardOutput(), Console.Error, Console.OpenStandardInput());
