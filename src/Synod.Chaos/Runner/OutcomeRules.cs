using Synod.Checker;
using Synod.Client;

namespace Synod.Chaos;

/// <summary>
/// What a client failure means for the history (src/Synod.Client/README.md, "Exceptions"). A read that failed had no
/// effect, so it is a failure. A write is a failure only when the client knows it was not applied (nothing reached a
/// replica, or a replica refused it before proposing it); when it may have been applied, it is unknown.
/// </summary>
public static class OutcomeRules
{
    public static Outcome ForFailure(Exception failure, bool isWrite)
    {
        if (!isWrite)
        {
            return Outcome.Fail;
        }

        return failure switch
        {
            SynodInvalidArgumentException => Outcome.Fail,

            // This covers SynodUnreachableException too: "unreachable" only means the last attempt could not connect.
            // A pinned write whose first attempt was sent and then cut off (the replica was killed mid-call) ends as
            // unreachable on the retry, yet it may have been forwarded and applied; OutcomeUnknown says so.
            SynodUnavailableException unavailable => unavailable.OutcomeUnknown ? Outcome.Unknown : Outcome.Fail,
            SynodSessionExpiredException expired => expired.OutcomeUnknown ? Outcome.Unknown : Outcome.Fail,
            SynodNoSpaceException noSpace => noSpace.OutcomeUnknown ? Outcome.Unknown : Outcome.Fail,
            SynodServerException server => server.OutcomeUnknown ? Outcome.Unknown : Outcome.Fail,

            // Cancelled mid-flight, or a failure the client library did not classify: the write may have been proposed.
            _ => Outcome.Unknown,
        };
    }
}
