using System.Threading.Channels;

namespace KavachPolar.Benefits;

/// <summary>
/// <c>customer.state_changed</c> deliveries waiting to be compared with the stored grants (<c>Services/CustomerStateRefresher</c>):
/// the event carries no subscription or order ids and fires on every meter recompute (REFERENCE.md §9.7), so it is only a
/// trigger to reconcile the customer when the benefit ids it holds differ from what is stored. In memory: a trigger lost
/// with the process costs nothing that the grant webhooks and reconcile do not bring anyway.
/// </summary>
internal sealed class CustomerStateTriggers
{
    private readonly Channel<(string CustomerId, string[] BenefitIds)> _channel =
        Channel.CreateBounded<(string, string[])>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    /// <summary>Queues a state's granted benefit ids for the customer.</summary>
    public void Add(string customerId, string[] benefitIds) => _channel.Writer.TryWrite((customerId, benefitIds));

    /// <summary>The queued states, as they come.</summary>
    public ChannelReader<(string CustomerId, string[] BenefitIds)> Reader => _channel.Reader;
}
