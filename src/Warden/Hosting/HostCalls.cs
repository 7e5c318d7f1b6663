using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>What serves a host call: the delegate behind one granted name (an operator's function today; fetch and
/// webhooks are meant to be served through the same path).</summary>
internal delegate Task<JsonNode?> HostCallTarget(JsonElement arguments, HostCallContext context, HostCallAfterReply afterReply);

/// <summary>
/// What a target wants done once its call's reply has been sent (or abandoned, at the timeout or the execution's end):
/// fetch gives back its share of the sandbox's response-bytes budget there, once the answer it made is no longer held
/// for the reply. An action registered after that point runs at once.
/// </summary>
internal sealed class HostCallAfterReply
{
    private readonly Lock _gate = new();
    private List<Action>? _actions = [];

    public void Add(Action action)
    {
        lock (_gate)
        {
            if (_actions is not null)
            {
                _actions.Add(action);
                return;
            }
        }
        action();
    }

    /// <summary>The reply is sent or abandoned: runs every action registered so far, and later ones at once.</summary>
    public void Run()
    {
        List<Action>? actions;
        lock (_gate)
        {
            actions = _actions;
            _actions = null;
        }
        foreach (var action in actions ?? [])
        {
            action();
        }
    }
}

/// <summary>
/// How one of Warden's own host-call targets (fetch) rejects a call with a script-visible error of its choosing:
/// <see cref="ErrorName"/> is <c>TypeError</c>, <c>RangeError</c> or <c>Error</c>, and the message is Warden's own text
/// (never an exception's from below). An operator's delegate cannot throw it: the type is internal.
/// </summary>
internal sealed class HostCallRejectedException(string errorName, string message) : Exception(message)
{
    public string ErrorName { get; } = errorName;
}

/// <summary>
/// The sandbox-wide bound on host-call delegates running at once (<see cref="SandboxLimits.MaxOutstandingHostCalls"/>):
/// a slot is held from a delegate's start until it returns, also past its call's timeout or its execution's end, so
/// delegates that ignore cancellation cannot pile up without bound.
/// </summary>
internal sealed class HostCallGate(int max)
{
    private int _outstanding;

    public int Outstanding => Volatile.Read(ref _outstanding);

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _outstanding) <= max)
        {
            return true;
        }
        Interlocked.Decrement(ref _outstanding);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _outstanding);
}

/// <summary>
/// The host calls one execution was granted, resolved to their targets (its host functions by name, and its fetch
/// under <see cref="FetchWords.CallName"/>), with what their calls may know.
/// </summary>
internal sealed record HostCallScope(IReadOnlyDictionary<string, HostCallTarget> Targets, string? IsolationKey, HostCallGate Gate)
{
    /// <summary>The scope of a submission whose grants passed validation (every name and origin registered and allowed).</summary>
    /// <param name="submission">The submission, already validated.</param>
    /// <param name="options">The sandbox's options (its registrations and limits).</param>
    /// <param name="gate">The sandbox-wide bound on delegates running at once.</param>
    /// <param name="fetch">The sandbox's fetch client and its response-bytes budget; null when no origin is registered.</param>
    public static HostCallScope? For(Submission submission, SandboxOptions options, HostCallGate gate,
        (Fetch.FetchClient Client, Fetch.FetchBodyBudget Budget)? fetch)
    {
        var functions = submission.HostFunctions ?? [];
        var origins = submission.FetchOrigins ?? [];
        if (functions.Count == 0 && origins.Count == 0)
        {
            return null;
        }
        var targets = new Dictionary<string, HostCallTarget>(StringComparer.Ordinal);
        foreach (var name in functions)
        {
            var function = options.HostFunctions.Find(name)!.Function;
            targets[name] = (arguments, context, _) => function(arguments, context);
        }
        if (origins.Count > 0)
        {
            // Registered origins imply a client (the sandbox makes one whenever any origin is registered).
            var granted = new Dictionary<string, Fetch.FetchOriginGrant>(StringComparer.Ordinal);
            foreach (var origin in origins)
            {
                var registration = options.FetchOrigins.Find(origin)!;
                granted[registration.Origin] = new Fetch.FetchOriginGrant(registration.Origin, registration.Headers);
            }
            var limits = options.Limits;
            var (client, budget) = fetch!.Value;
            targets[FetchWords.CallName] = client.TargetFor(
                Fetch.FetchScope.Of(granted.Values, limits.MaxFetchResponseBytes, limits.MaxFetchRequestBodyBytes, budget));
        }
        return new HostCallScope(targets, submission.IsolationKey, gate);
    }
}

/// <summary>
/// The host's side of one execution's host calls: checks each <c>hostCall</c> frame, runs its delegate off the frame
/// reader, and sends the <c>hostReply</c>. SECURITY: every call frame is attacker-controlled. The call id must be the
/// next one, the name granted to this execution, the arguments a JSON array within their size, and the call within
/// the count and concurrency limits, all counted here by the host (the worker's own checks only make the error
/// friendly); any breach is a <see cref="ProtocolViolationException"/>, which kills the worker. Only a
/// <see cref="HostFunctionException"/>'s message, bounded, goes back to the script; any other failure is a generic
/// message, logged on the host. When the execution ends every pending call's token is cancelled and no reply is sent.
/// </summary>
internal sealed class HostCallDispatcher
{
    /// <summary>Arguments nested deeper than this are refused with a TypeError (as input is: SubmissionValidator.MaxInputDepth).</summary>
    private const int MaxArgumentDepth = SubmissionValidator.MaxInputDepth;

    /// <summary>How long the end of an execution waits for a reply being written before it gives the worker up.</summary>
    private static readonly TimeSpan EndWriteWait = TimeSpan.FromSeconds(1);

    private readonly WorkerProcess _process;
    private readonly string _executionId;
    private readonly WireHostGrant _grant;
    private readonly HostCallScope _scope;
    private readonly int _maxErrorTextBytes;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _execution = new();
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Stopwatch _busy = new();

    /// <summary>The token sources of delegates still running (under <see cref="_gate"/>): cancelled at the end.</summary>
    private readonly HashSet<CancellationTokenSource> _running = [];
    private long _lastCallId;
    private int _calls;
    private int _pending;
    private volatile bool _ended;

    public HostCallDispatcher(WorkerProcess process, string executionId, WireHostGrant grant, HostCallScope scope, int maxErrorTextBytes, ILogger logger)
    {
        _process = process;
        _executionId = executionId;
        _grant = grant;
        _scope = scope;
        _maxErrorTextBytes = maxErrorTextBytes;
        _logger = logger;
    }

    /// <summary>The largest <c>hostCall</c> frame a well-behaved worker sends: its arguments at their cap, escaped (6 bytes a byte), and the envelope.</summary>
    public static long MaxCallFrameBytes(WireHostGrant grant) =>
        6L * Math.Max(grant.MaxArgumentBytes, HostCallWords.MaxArgumentBytes(grant, FetchWords.CallName)) + 64 * 1024;

    /// <summary>Calls accepted so far (the outcome's <c>usage.hostCalls</c>).</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Wall time during which at least one call was outstanding on the host (the outcome's <c>usage.hostMs</c>).</summary>
    public double HostMs
    {
        get
        {
            lock (_gate)
            {
                return _busy.Elapsed.TotalMilliseconds;
            }
        }
    }

    /// <summary>Checks one call frame and starts serving it. Called by the frame reader only.</summary>
    /// <exception cref="ProtocolViolationException">The frame breaches the grant or its limits.</exception>
    public void Accept(HostCallMessage call)
    {
        // A null name or arguments never gets here: the protocol's schema refuses JSON null for non-nullable members.
        if (call.CallId != _lastCallId + 1)
        {
            throw new ProtocolViolationException("a host call id out of sequence");
        }
        if (!HostCallWords.IsGranted(_grant, call.Name) || !_scope.Targets.TryGetValue(call.Name, out var target))
        {
            throw new ProtocolViolationException("a host call of a function not granted to this execution");
        }
        if (Encoding.UTF8.GetByteCount(call.Arguments) > HostCallWords.MaxArgumentBytes(_grant, call.Name))
        {
            throw new ProtocolViolationException("host call arguments beyond their limit");
        }
        if (_calls >= _grant.MaxCalls)
        {
            throw new ProtocolViolationException("host calls beyond the execution's count");
        }
        int depth = ArgumentDepth(call.Arguments);
        _lastCallId = call.CallId;
        lock (_gate)
        {
            if (_pending >= _grant.MaxConcurrentCalls)
            {
                throw new ProtocolViolationException("host calls beyond the execution's concurrency");
            }
            if (_pending++ == 0)
            {
                _busy.Start();
            }
        }
        Interlocked.Increment(ref _calls);
        _ = ServeAsync(call.CallId, call.Name, call.Arguments, depth, target);
    }

    /// <summary>The arguments' nesting depth. SECURITY: they must be one JSON array (the prelude only ever sends one); anything else is a breach.</summary>
    private static int ArgumentDepth(string arguments)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(arguments), new JsonReaderOptions { MaxDepth = int.MaxValue });
        int max = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new ProtocolViolationException("host call arguments that are not a JSON array");
            }
            while (reader.Read())
            {
                max = Math.Max(max, reader.CurrentDepth);
            }
        }
        catch (JsonException)
        {
            throw new ProtocolViolationException("host call arguments that are not JSON");
        }
        return max + 1;
    }

    private async Task ServeAsync(long callId, string name, string arguments, int depth, HostCallTarget target)
    {
        string? result = null;
        WireHostError? error = null;
        JsonDocument? document = null;
        var afterReply = new HostCallAfterReply();
        try
        {
            if (depth > MaxArgumentDepth)
            {
                error = new WireHostError(HostCallWords.TypeErrorName, $"Host call arguments are nested more than {MaxArgumentDepth} deep");
            }
            else
            {
                // Parsed before a slot is taken: nothing between taking the slot and starting the delegate can fail.
                document = JsonDocument.Parse(arguments, new JsonDocumentOptions { MaxDepth = MaxArgumentDepth + 1 });
                if (!_scope.Gate.TryEnter())
                {
                    error = new WireHostError(HostCallWords.RangeErrorName, HostCallWords.HostBusy());
                }
                else
                {
                    var owned = document;
                    document = null;
                    (result, error) = await RunDelegateAsync(callId, name, owned, target, afterReply).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e)
        {
            // Never an unobserved failure of the host's own: the script gets the generic message.
            Log.HostFunctionFailed(_logger, _executionId, name, e);
            error = new WireHostError(HostCallWords.ErrorName, HostCallWords.Failed(name));
        }
        finally
        {
            document?.Dispose();
        }
        try
        {
            await ReplyAsync(callId, result, error).ConfigureAwait(false);
        }
        finally
        {
            afterReply.Run();
        }
    }

    /// <summary>
    /// Runs the delegate under the call's timeout and the execution's token. Its gate slot is already taken; the slot
    /// and the token are released when the delegate returns, whenever that is, the arguments once it has returned and
    /// its answer is made.
    /// </summary>
    private async Task<(string? Result, WireHostError? Error)> RunDelegateAsync(long callId, string name, JsonDocument document, HostCallTarget target,
        HostCallAfterReply afterReply)
    {
        // Not linked to the execution's token: EndAsync cancels each running call itself (see StartCancelling).
        // Registered before the delegate starts, on the frame reader, so always before EndAsync looks.
        var call = new CancellationTokenSource();
        lock (_gate)
        {
            _running.Add(call);
        }
        var context = new HostCallContext(name, _scope.IsolationKey, _executionId, callId, call.Token);
        // The result may refer to the arguments (JsonArray.Create(args)): they live until the delegate has
        // returned and its result is serialised (or abandoned at the timeout), whichever is later.
        var arguments = new ArgumentsLease(document);
        // Off the frame reader, always: a synchronous delegate must not stall the execution's frames. Task.Run
        // turns a synchronous throw into a faulted task.
        Task<JsonNode?> running = Task.Run(() => target(arguments.Root, context, afterReply));
        _ = running.ContinueWith(_ =>
        {
            _scope.Gate.Exit();
            arguments.Release();
            // Removed under the lock before it is disposed: a cancellation (under the lock) never meets a disposed source.
            lock (_gate)
            {
                _running.Remove(call);
            }
            call.Dispose();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            return await AnswerOfAsync(name, running, call).ConfigureAwait(false);
        }
        finally
        {
            arguments.Release();
        }
    }

    private async Task<(string? Result, WireHostError? Error)> AnswerOfAsync(string name, Task<JsonNode?> running, CancellationTokenSource call)
    {
        using (var timer = CancellationTokenSource.CreateLinkedTokenSource(_execution.Token))
        {
            var timeout = Task.Delay(HostCallWords.TimeoutMs(_grant, name), timer.Token);
            bool answered = await Task.WhenAny(running, timeout).ConfigureAwait(false) == running;
            // The timer is not left running for a call that answered (its only callback is the delay's own).
            await timer.CancelAsync().ConfigureAwait(false);
            if (!answered)
            {
                lock (_gate)
                {
                    if (_running.Contains(call))
                    {
                        StartCancelling(call, name);
                    }
                }
                return (null, new WireHostError(HostCallWords.RangeErrorName, HostCallWords.TimedOut(_grant, name)));
            }
        }
        JsonNode? node;
        try
        {
            node = await running.ConfigureAwait(false);
        }
        catch (HostFunctionException e)
        {
            return (null, new WireHostError(HostCallWords.ErrorName, Utf8Text.Truncate(e.Message ?? "", _maxErrorTextBytes)));
        }
        catch (HostCallRejectedException e)
        {
            return (null, new WireHostError(e.ErrorName, Utf8Text.Truncate(e.Message, _maxErrorTextBytes)));
        }
        catch (OperationCanceledException) when (_ended)
        {
            return (null, new WireHostError(HostCallWords.RangeErrorName, HostCallWords.TimedOut(_grant, name)));
        }
        catch (Exception e)
        {
            Log.HostFunctionFailed(_logger, _executionId, name, e);
            return (null, new WireHostError(HostCallWords.ErrorName, HostCallWords.Failed(name)));
        }
        string json;
        try
        {
            json = node is null ? "null" : node.ToJsonString();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            Log.HostFunctionFailed(_logger, _executionId, name, e);
            return (null, new WireHostError(HostCallWords.ErrorName, HostCallWords.Failed(name)));
        }
        if (Encoding.UTF8.GetByteCount(json) > HostCallWords.MaxResultBytes(_grant, name))
        {
            return (null, new WireHostError(HostCallWords.RangeErrorName, HostCallWords.ResultTooLarge(name, (int)Math.Min(int.MaxValue, HostCallWords.MaxResultBytes(_grant, name)))));
        }
        return (json, null);
    }

    private async Task ReplyAsync(long callId, string? result, WireHostError? error)
    {
        await _send.WaitAsync().ConfigureAwait(false);
        try
        {
            // The host's count drops before the worker's can (it drops when the reply arrives), so the host
            // never holds the worker to a concurrency the worker itself has not freed.
            lock (_gate)
            {
                if (--_pending == 0)
                {
                    _busy.Stop();
                }
            }
            if (_ended)
            {
                return;
            }
            await _process.SendAsync(new HostReplyMessage(_executionId, callId, result, error)).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The worker is gone; the exchange classifies its death.
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            _send.Release();
        }
    }

    /// <summary>
    /// The execution is over: cancels every pending call's token and sends no more replies. Waits for a reply being
    /// written (a reply must never interleave with the next execution's frames); a worker that does not read it in
    /// time is killed.
    /// </summary>
    public async Task EndAsync()
    {
        _ended = true;
        // The timers of calls still being answered (their only callbacks are our own delays).
        StartCancelling(_execution, "*");
        lock (_gate)
        {
            // Every delegate's token is cancelled by the time the execution's outcome is returned; their callbacks
            // run afterwards, on the thread pool.
            foreach (var call in _running)
            {
                StartCancelling(call, "*");
            }
        }
        if (await _send.WaitAsync(EndWriteWait).ConfigureAwait(false))
        {
            _send.Release();
        }
        else
        {
            Log.ProtocolViolation(_logger, _process.Pid, "a host reply it did not read within 1 s (the end of its execution waited for it)");
            _process.Kill(WorkerKillReason.Violation);
        }
        lock (_gate)
        {
            _busy.Stop();
        }
    }

    /// <summary>
    /// Cancels a token at once (its <c>IsCancellationRequested</c> is true on return) without running or waiting for
    /// its callbacks, which run on the thread pool. SECURITY: the callbacks are the delegates' (operator code,
    /// <c>CancellationToken.Register</c>): one that throws must not turn the end of an execution into an exception
    /// from <see cref="Sandbox.RunAsync"/>, and one that blocks must not hold the execution; their failures are logged.
    /// </summary>
    private void StartCancelling(CancellationTokenSource source, string name)
    {
        Task cancelling = source.CancelAsync();
        _ = cancelling.ContinueWith(t => Log.HostFunctionFailed(_logger, _executionId, name, t.Exception!.GetBaseException()),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>A call's parsed arguments, disposed by the last of its two holders (the delegate, the answer) to let go.</summary>
    private sealed class ArgumentsLease(JsonDocument document)
    {
        private int _holders = 2;

        public JsonElement Root => document.RootElement;

        public void Release()
        {
            if (Interlocked.Decrement(ref _holders) == 0)
            {
                document.Dispose();
            }
        }
    }
}
