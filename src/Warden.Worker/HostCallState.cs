using System.Text;
using System.Text.Json;
using Warden.Protocol;

namespace Warden.Worker;

/// <summary>
/// The worker's side of one execution's host calls: what was granted, the calls the script made (sent to the host
/// as <c>hostCall</c> frames) and the replies waiting to be delivered into the engine. The engine's bridge calls
/// <see cref="Call"/> and <see cref="TakeReply"/> on the script thread; the main thread, which reads the host's
/// frames, calls <see cref="Deliver"/>.
/// </summary>
/// <remarks>
/// The limits are checked here only to give the script a prompt, friendly RangeError: the host counts every call
/// again itself and treats a breach as a compromised worker. Replies for calls still pending when the execution
/// ends are dropped (the host cancels its side), as are replies for another execution.
/// </remarks>
internal sealed class HostCallState(ProtocolChannel channel)
{
    private readonly Lock _gate = new();
    private readonly Queue<HostReplyMessage> _replies = new();
    private readonly ManualResetEventSlim _arrived = new(false);
    private readonly HashSet<long> _pending = [];
    private volatile string? _executionId;
    private WireHostGrant? _grant;
    private string _grantJson = "";
    private long _lastCallId;
    private int _calls;
    private Func<bool> _over = static () => false;

    /// <summary>Set while a reply waits to be taken: the event loop wakes on it.</summary>
    public WaitHandle ReplyArrived => _arrived.WaitHandle;

    /// <summary>The source of <c>warden:host</c> for the running execution; null when it was granted nothing.</summary>
    public string? ModuleSource => _grant is { Functions.Length: > 0 } grant ? HostCallWords.ModuleSource(grant.Functions) : null;

    /// <summary>The argument limit of a call of <paramref name="name"/> in UTF-8 bytes (0 without a grant).</summary>
    public int MaxArgumentBytesOf(string name) => _grant is { } grant ? HostCallWords.MaxArgumentBytes(grant, name) : 0;

    /// <summary>The RangeError message of a call of <paramref name="name"/> whose arguments are over their limit.</summary>
    public string ArgumentsTooLarge(string name) =>
        _grant is { } grant ? HostCallWords.ArgumentsTooLarge(grant, name) : HostCallWords.ArgumentsTooLarge(0);

    /// <summary>Calls sent and not yet answered into the engine.</summary>
    public int Pending => _pending.Count;

    /// <summary>Starts an execution's host calls; <paramref name="grant"/> null: none were granted.</summary>
    /// <param name="over">Whether the execution already has its outcome (a result, a failure or a limit): calls are then refused.</param>
    public void Begin(string executionId, WireHostGrant? grant, Func<bool>? over = null)
    {
        _over = over ?? (static () => false);
        lock (_gate)
        {
            _replies.Clear();
            _arrived.Reset();
            _executionId = grant is null ? null : executionId;
        }
        _grant = grant;
        _pending.Clear();
        _lastCallId = 0;
        _calls = 0;
        _grantJson = grant is null ? "" : GrantJson(grant);
    }

    /// <summary>The execution is over: replies still to come are dropped.</summary>
    public void End()
    {
        lock (_gate)
        {
            _executionId = null;
            _replies.Clear();
            _arrived.Reset();
        }
        _grant = null;
        _grantJson = "";
        _pending.Clear();
    }

    /// <summary>
    /// What the prelude learns of the grant before any user code runs, as JSON it parses: the names and the
    /// argument limit with its message (checked in the isolate before the arguments cross); "" when none.
    /// </summary>
    public string GrantJson() => _grantJson;

    private static string GrantJson(WireHostGrant grant)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("names");
            foreach (var name in grant.Functions)
            {
                w.WriteStringValue(name);
            }
            w.WriteEndArray();
            w.WriteString("module", HostCallWords.ModuleName);
            w.WriteString("handoff", HostCallWords.HandoffGlobal);
            w.WriteNumber("maxArgumentBytes", grant.MaxArgumentBytes);
            w.WriteString("argumentsTooLarge", HostCallWords.ArgumentsTooLarge(grant.MaxArgumentBytes));
            if (grant.Fetch is not null)
            {
                // fetch's own limits, checked in the isolate before a request crosses (the host checks again).
                w.WriteStartObject("fetch");
                w.WriteString("callName", FetchWords.CallName);
                w.WriteNumber("maxArgumentBytes", HostCallWords.MaxArgumentBytes(grant, FetchWords.CallName));
                w.WriteString("requestBodyTooLarge", HostCallWords.ArgumentsTooLarge(grant, FetchWords.CallName));
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// A call of a granted function with its arguments (a JSON array made in the isolate). Returns the call's id once
    /// sent to the host, or the message of the RangeError the call rejects with.
    /// </summary>
    public object Call(string name, string argumentsJson)
    {
        if (_grant is not { } grant || _executionId is not { } id || !HostCallWords.IsGranted(grant, name))
        {
            return HostCallWords.Failed(name);
        }
        // SECURITY: code still running in the turn that settled the outcome (a microtask chain) must not act through
        // the host: its calls would run delegates, side effects included, for an execution that is already decided.
        if (_over())
        {
            return HostCallWords.ExecutionOver;
        }
        if (_calls >= grant.MaxCalls)
        {
            return HostCallWords.TooManyCalls(grant.MaxCalls);
        }
        if (_pending.Count >= grant.MaxConcurrentCalls)
        {
            return HostCallWords.TooManyConcurrentCalls(grant.MaxConcurrentCalls);
        }
        if (Encoding.UTF8.GetByteCount(argumentsJson) > HostCallWords.MaxArgumentBytes(grant, name))
        {
            return ArgumentsTooLarge(name);
        }
        long callId = ++_lastCallId;
        _calls++;
        _pending.Add(callId);
        channel.Send(new HostCallMessage(id, callId, name, argumentsJson));
        return (double)callId;
    }

    /// <summary>A reply from the host (main thread). Kept only for the running execution.</summary>
    public void Deliver(HostReplyMessage reply)
    {
        lock (_gate)
        {
            if (reply.Id != _executionId)
            {
                return;
            }
            _replies.Enqueue(reply);
            _arrived.Set();
        }
    }

    /// <summary>
    /// The next reply for a pending call, as JSON the prelude parses (<c>{"id":n,"result":...}</c> or
    /// <c>{"id":n,"error":{"name":...,"message":...}}</c>); "" when none waits.
    /// </summary>
    public string TakeReply()
    {
        while (true)
        {
            HostReplyMessage reply;
            lock (_gate)
            {
                if (!_replies.TryDequeue(out reply!))
                {
                    _arrived.Reset();
                    return "";
                }
            }
            if (!_pending.Remove(reply.CallId))
            {
                continue;
            }
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true }))
            {
                w.WriteStartObject();
                w.WriteNumber("id", reply.CallId);
                if (reply.Error is { } error || reply.Result is null)
                {
                    var e = reply.Error ?? new WireHostError(HostCallWords.ErrorName, HostCallWords.NoAnswer);
                    w.WriteStartObject("error");
                    w.WriteString("name", e.Name is HostCallWords.RangeErrorName or HostCallWords.TypeErrorName ? e.Name : HostCallWords.ErrorName);
                    w.WriteString("message", e.Message);
                    w.WriteEndObject();
                }
                else
                {
                    // The host serialised it from a JsonNode: one JSON value.
                    w.WritePropertyName("result");
                    w.WriteRawValue(reply.Result, skipInputValidation: true);
                }
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }
    }
}
