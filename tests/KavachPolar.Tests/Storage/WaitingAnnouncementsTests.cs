using KavachPolar.Storage;
using KavachPolar.Storage.Cache;

namespace KavachPolar.Tests.Storage;

/// <summary>What the change announcer has yet to send: each user once, in bounded announcements, or everyone.</summary>
public sealed class WaitingAnnouncementsTests
{
    [Fact]
    public void Each_user_is_named_once_in_announcements_of_bounded_size()
    {
        var waiting = new WaitingAnnouncements(maxWaiting: 100, perAnnouncement: 3);
        foreach (var id in new[] { "u1", "u2", "u1", "u3", "u4", "u2", "u5" })
        {
            waiting.Add(id);
        }

        var first = waiting.Take()!;
        var second = waiting.Take()!;
        Assert.Equal(3, first.Length);
        Assert.Equal(2, second.Length);
        Assert.Equal(["u1", "u2", "u3", "u4", "u5"], first.Concat(second).Order(StringComparer.Ordinal));
        Assert.Null(waiting.Take());
    }

    [Fact]
    public void An_announcement_that_could_not_be_sent_waits_again_with_what_came_since()
    {
        var waiting = new WaitingAnnouncements(maxWaiting: 100, perAnnouncement: 10);
        waiting.Add("u1");
        var failed = waiting.Take()!;
        waiting.Add("u2");
        Assert.Equal(2, waiting.Count); // one being sent, one waiting
        waiting.Return(failed);

        var retried = waiting.Take()!;
        Assert.Equal(["u1", "u2"], retried.Order(StringComparer.Ordinal));
        Assert.Null(waiting.Take());
        Assert.Equal(2, waiting.Count);
        waiting.Sent(retried);
        Assert.Equal(0, waiting.Count);
    }

    [Fact]
    public void Past_the_limit_the_next_announcement_is_everyone_and_nothing_else()
    {
        var waiting = new WaitingAnnouncements(maxWaiting: 3, perAnnouncement: 10);
        foreach (var id in new[] { "u1", "u2", "u3", "u4", "u5" })
        {
            waiting.Add(id);
        }

        Assert.Equal([WaitingAnnouncements.Everyone], waiting.Take()!);
        Assert.Null(waiting.Take());

        waiting.Add("u6");
        Assert.Equal(["u6"], waiting.Take()!);
    }

    [Fact]
    public void An_everyone_announcement_that_could_not_be_sent_stays_everyone()
    {
        var waiting = new WaitingAnnouncements(maxWaiting: 1, perAnnouncement: 10);
        waiting.Add("u1");
        waiting.Add("u2");
        var failed = waiting.Take()!;
        waiting.Add("u3");
        waiting.Return(failed);

        Assert.Equal([WaitingAnnouncements.Everyone], waiting.Take()!);
        Assert.Null(waiting.Take());
    }
}
