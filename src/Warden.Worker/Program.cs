using Warden.Worker;

// stdout is the protocol channel to the host and nothing else may write to it: anything that
// prints (a library, a stray Console.WriteLine) goes to stderr, which the host reads and bounds.
var protocolOut = Console.OpenStandardOutput();
var protocolIn = Console.OpenStandardInput();
Console.SetOut(Console.Error);

return WorkerMain.Run(protocolIn, protocolOut);
