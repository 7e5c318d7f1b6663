namespace Warden.Hosting;

/// <summary>What is wrong with a submission: the member at fault and why.</summary>
/// <param name="Field">The member as the contract's JSON path (<c>code</c>, <c>limits.timeoutMs</c>, <c>modules</c>, <c>engine</c>, ...).</param>
/// <param name="Message">The refusal as the outcome reports it; it starts with the field's name.</param>
internal sealed record SubmissionProblem(string Field, string Message);
