// After Polar's checkout: apply the checkout's subscription now (POST reconcile), then show it.
(() => {
  const root = document.getElementById('success');
  const checkoutId = root?.dataset.checkoutId;
  if (!checkoutId) return;

  const names = JSON.parse(document.getElementById('product-names').textContent || '{}');
  const $ = (id) => document.getElementById(id);
  // The sample writes every date one way, in UTC: "5 May 2026" (see SampleDates.cs).
  const dateFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

  function show(title, message, state) {
    $('success-title').textContent = title;
    $('success-message').textContent = message;
    root.dataset.state = state;
  }

  async function reconcile(attempt) {
    let response;
    try {
      response = await fetch('/api/kavach/auth/polar/reconcile', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ checkoutId }),
      });
    } catch {
      show('Payment received', 'We could not reach the server to confirm it. Your account page will show it shortly.', 'error');
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 503 && attempt < 10) {
      // The server's database did not answer in time ("try again shortly"): ask again, as for a payment in progress.
      setTimeout(() => reconcile(attempt + 1), Math.min(1000 * (attempt + 1), 3000));
      return;
    }
    if (!response.ok) {
      show('Payment received', body.detail || body.title || `Confirmation failed (HTTP ${response.status}).`, 'error');
      return;
    }
    const subscription = body.subscription;
    if (!subscription) {
      // Polar may still be processing the payment; ask again for a little while.
      if (attempt < 5) {
        setTimeout(() => reconcile(attempt + 1), 1000 * (attempt + 1));
        return;
      }
      show('Payment received', 'Polar has not confirmed the subscription yet. Your account page will show it as soon as it does.', 'pending');
      return;
    }
    $('success-product').textContent = names[subscription.productId] || subscription.productId;
    $('success-status').textContent = subscription.status;
    $('success-status').classList.add(subscription.status === 'active' || subscription.status === 'trialing' ? 'badge-ok' : 'badge-warn');
    // A trial's period ends with its first charge, not a renewal.
    $('success-renewal-label').textContent = subscription.status === 'trialing' ? 'First charge on' : 'Renews on';
    $('success-renewal').textContent = subscription.currentPeriodEnd
      ? dateFormat.format(new Date(subscription.currentPeriodEnd))
      : '—';
    $('success-facts').hidden = false;
    show("You're subscribed", 'Thank you! Your plan is ready to use.', 'done');
  }

  reconcile(0);
})();
