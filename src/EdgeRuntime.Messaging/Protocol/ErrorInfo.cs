namespace EdgeRuntime.Messaging.Protocol;

/// <summary>An error in a final message: <c>{"code":"bad_request","message":"..."}</c>; the codes are <see cref="ErrorCodes"/>.</summary>
/// <remarks>Immutable.</remarks>
/// <param name="Code">A stable machine-readable code.</param>
/// <param name="Message">What was wrong, for people: names the field, what was expected and what was sent.</param>
public sealed record ErrorInfo(string Code, string Message);
