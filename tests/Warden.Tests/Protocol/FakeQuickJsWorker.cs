using System.Buffers.Binary;
using System.Text;

namespace Warden.Tests.Protocol;

/// <summary>
/// A shell script posing as a quickjs worker: the host's side of fuel (what it sends, what it accepts back), without
/// the engine. It says ready, copies what the host sends it to a file, and answers one execution only once the host
/// has sent it <c>expected</c> (else the host gives up on it: "did not start the execution in time").
/// </summary>
internal static class FakeQuickJsWorker
{
    private const string Ready = "{\"type\":\"ready\",\"pid\":1,\"engine\":{\"name\":\"quickjs\",\"version\":\"0\",\"memory\":{\"growthCapPerBudgetMb\":1.25,\"growthCapFixedMb\":64,\"nearBudgetFraction\":0.5,\"nearBudgetCeilingMb\":512},\"outOfMemoryMarkers\":[]},\"lockdown\":{\"seccomp\":false,\"allowedSyscalls\":0,\"rlimitsApplied\":false,\"lockdownMs\":0}}";

    /// <summary>The result of a quickjs execution stopped by a fuel budget of 123,456,789 units, all of it used.</summary>
    public const string FuelExhausted =
        "{\"type\":\"result\",\"id\":\"x1\",\"status\":\"timeout\",\"error\":{\"name\":\"TimeoutError\",\"message\":\"Fuel limit of 123456789 units exceeded\",\"stack\":\"\",\"limit\":\"fuel\"},"
        + "\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1,\"fuel\":123456789}}";

    /// <summary>Makes <paramref name="options"/> start the fake (no OS isolation, no spare workers).</summary>
    /// <param name="options">The sandbox's options.</param>
    /// <param name="directory">Where the script and its files go.</param>
    /// <param name="expected">Text the host must have sent before the fake answers, e.g. <c>"fuel":123456789</c>.</param>
    /// <param name="result">The <c>result</c> frame's JSON (execution id <c>x1</c>).</param>
    public static void Configure(SandboxOptions options, string directory, string expected, string result)
    {
        string ready = Path.Combine(directory, "quickjs-ready.bin");
        string answer = Path.Combine(directory, "quickjs-answer.bin");
        string sent = Path.Combine(directory, "quickjs-sent.bin");
        string script = Path.Combine(directory, "quickjs-fake.sh");
        File.WriteAllBytes(ready, Frame(Ready));
        File.WriteAllBytes(answer, [.. Frame("{\"type\":\"started\",\"id\":\"x1\"}"), .. Frame(result)]);
        // The copy runs in the background, whose standard input sh would make /dev/null: it reads the host's pipe through fd 3.
        File.WriteAllText(script, $"cat '{ready}'\nexec 3<&0\ncat <&3 > '{sent}' &\n"
            + $"while ! grep -qaF '{expected}' '{sent}' 2>/dev/null; do sleep 0.01; done\ncat '{answer}'\nwait\n");
        options.DotnetHostPath = "/bin/sh";
        options.WorkerAssemblyPath = script;
        options.SpareWorkers = 0;
        options.MaxWorkers = 1;
        options.OsIsolation = OsIsolationMode.Disabled;
    }

    private static byte[] Frame(string json)
    {
        var payload = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)payload.Length);
        payload.CopyTo(bytes, 4);
        return bytes;
    }
}
