using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Warden;

/// <summary>
/// The .NET functions an operator offers to scripts (<see cref="SandboxOptions.HostFunctions"/>). Nothing here is
/// ambient: a script reaches a function only when its submission grants it by name (<see cref="Submission.HostFunctions"/>),
/// and then as an async function exported by the module <c>warden:host</c>. Arguments arrive as the JSON array of the
/// call's arguments, serialised inside the sandbox; the result goes back as JSON and is parsed inside the sandbox.
/// The host never touches a live script object.
/// </summary>
/// <example>
/// <code>
/// options.HostFunctions.Add("lookupUser", async (JsonElement args, HostCallContext call) =>
///     JsonValue.Create(await users.NameOfAsync(args[0].GetInt32(), call.CancellationToken)));
/// </code>
/// </example>
public sealed class HostFunctionCollection : IEnumerable<HostFunctionRegistration>
{
    private readonly Dictionary<string, HostFunctionRegistration> _functions = new(StringComparer.Ordinal);

    /// <summary>The longest name a host function may have.</summary>
    public const int MaxNameLength = Protocol.HostCallWords.MaxNameLength;

    /// <summary>Whether <paramref name="name"/> can be a host function's name: an ASCII JavaScript identifier of at most <see cref="MaxNameLength"/> characters, neither <c>then</c> nor <c>default</c>.</summary>
    public static bool IsValidName(string? name) => Protocol.HostCallWords.IsValidName(name);

    /// <summary>The number of registered functions.</summary>
    public int Count => _functions.Count;

    /// <summary>Registers an asynchronous function.</summary>
    /// <param name="name">An ASCII JavaScript identifier of at most 64 characters, other than <c>then</c> and <c>default</c>.</param>
    /// <param name="function">
    /// Called with the arguments (a JSON array) and the call's context; its result is sent back as JSON (null: <c>null</c>).
    /// The arguments may be part of the result (<c>JsonArray.Create(args)</c>); they are valid until the returned task
    /// completes and its result is serialised, so a function that keeps them longer keeps a copy (<c>args.Clone()</c>).
    /// </param>
    /// <param name="allowedIsolationKeys">
    /// The isolation keys whose submissions may be granted this function; null (the default): any submission's,
    /// keyless ones included. A grant from another key is <c>invalid_request</c>.
    /// </param>
    /// <exception cref="ArgumentException">The name is not a valid function name, is already registered, or a key is empty.</exception>
    public HostFunctionRegistration Add(string name, Func<JsonElement, HostCallContext, Task<JsonNode?>> function,
        IEnumerable<string>? allowedIsolationKeys = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (!Protocol.HostCallWords.IsValidName(name))
        {
            throw new ArgumentException(
                $"'{name}' is not a valid host function name: an ASCII JavaScript identifier of at most {Protocol.HostCallWords.MaxNameLength} characters, neither 'then' nor 'default'.",
                nameof(name));
        }
        if (_functions.ContainsKey(name))
        {
            throw new ArgumentException($"A host function named '{name}' is already registered.", nameof(name));
        }
        var keys = Hosting.AllowedIsolationKeys.From(allowedIsolationKeys, nameof(allowedIsolationKeys));
        var registration = new HostFunctionRegistration(name, function, keys);
        _functions.Add(name, registration);
        return registration;
    }

    /// <summary>
    /// Registers a synchronous function (run on the thread pool, never on the host's frame reader). A lambda that
    /// only returns <c>null</c> or only throws fits both overloads: give its return type, <c>JsonNode? (args, call) =&gt; null</c>.
    /// </summary>
    /// <inheritdoc cref="Add(string, Func{JsonElement, HostCallContext, Task{JsonNode}}, IEnumerable{string})"/>
    public HostFunctionRegistration Add(string name, Func<JsonElement, HostCallContext, JsonNode?> function,
        IEnumerable<string>? allowedIsolationKeys = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        return Add(name, (arguments, context) => Task.FromResult(function(arguments, context)), allowedIsolationKeys);
    }

    /// <summary>The registration named <paramref name="name"/>, or null.</summary>
    public HostFunctionRegistration? Find(string name) => _functions.GetValueOrDefault(name);

    /// <inheritdoc/>
    public IEnumerator<HostFunctionRegistration> GetEnumerator() => _functions.Values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal HostFunctionCollection Clone()
    {
        var copy = new HostFunctionCollection();
        foreach (var (name, registration) in _functions)
        {
            copy._functions.Add(name, registration);
        }
        return copy;
    }
}

/// <summary>One registered host function: its name, delegate and who may be granted it.</summary>
public sealed class HostFunctionRegistration
{
    private readonly HashSet<string>? _allowedIsolationKeys;

    internal HostFunctionRegistration(string name, Func<JsonElement, HostCallContext, Task<JsonNode?>> function, HashSet<string>? allowedIsolationKeys)
    {
        Name = name;
        Function = function;
        _allowedIsolationKeys = allowedIsolationKeys;
    }

    /// <summary>The name the script imports.</summary>
    public string Name { get; }

    internal Func<JsonElement, HostCallContext, Task<JsonNode?>> Function { get; }

    /// <summary>The isolation keys that may be granted this function; null: every submission, keyless ones included.</summary>
    public IReadOnlyCollection<string>? AllowedIsolationKeys => _allowedIsolationKeys;

    /// <summary>Whether a submission with this isolation key (null: keyless) may be granted the function.</summary>
    public bool AllowsIsolationKey(string? isolationKey) =>
        Hosting.AllowedIsolationKeys.Allow(_allowedIsolationKeys, isolationKey);
}

/// <summary>What a host function knows about the call it serves.</summary>
public sealed class HostCallContext
{
    internal HostCallContext(string functionName, string? isolationKey, string executionId, long callId, CancellationToken cancellationToken)
    {
        FunctionName = functionName;
        IsolationKey = isolationKey;
        ExecutionId = executionId;
        CallId = callId;
        CancellationToken = cancellationToken;
    }

    /// <summary>The function called.</summary>
    public string FunctionName { get; }

    /// <summary>The submission's isolation key (its tenant); null for a keyless submission.</summary>
    public string? IsolationKey { get; }

    /// <summary>The execution's id, as the sandbox's logs name it.</summary>
    public string ExecutionId { get; }

    /// <summary>The call's number within the execution (1, 2, ...).</summary>
    public long CallId { get; }

    /// <summary>
    /// Cancelled when the call's time limit (<see cref="SandboxLimits.HostCallTimeoutMs"/>) passes or its execution
    /// ends, whichever comes first. A function that ignores it keeps a slot of <see cref="SandboxLimits.MaxOutstandingHostCalls"/>
    /// until it returns.
    /// </summary>
    public CancellationToken CancellationToken { get; }
}

/// <summary>
/// The one exception whose message a host function's caller sees (bounded by <see cref="SandboxLimits.MaxErrorTextBytes"/>),
/// as the message of the <c>Error</c> its promise rejects with. Any other exception rejects with a generic message and
/// nothing of its text or stack leaves the host.
/// </summary>
public sealed class HostFunctionException : Exception
{
    /// <summary>A failure whose <paramref name="message"/> the script may see.</summary>
    /// <remarks>A null message is empty: .NET's default text would name the exception's type to the script.</remarks>
    public HostFunctionException(string message) : base(message ?? "")
    {
    }

    /// <summary>A failure whose <paramref name="message"/> the script may see; the inner exception stays on the host.</summary>
    public HostFunctionException(string message, Exception innerException) : base(message ?? "", innerException)
    {
    }
}
