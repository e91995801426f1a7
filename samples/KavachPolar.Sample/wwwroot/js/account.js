// Manage billing: ask the account page for a Polar customer portal session whose "Back" link returns here, then open it.
(() => {
  const button = document.querySelector('[data-portal]');
  const error = document.getElementById('portal-error');
  if (!button) {
    return;
  }

  button.addEventListener('click', async () => {
    button.disabled = true;
    error.hidden = true;
    try {
      const token = document.querySelector('input[name="__RequestVerificationToken"]')?.value ?? '';
      const response = await fetch('/account?handler=Portal', { method: 'POST', headers: { RequestVerificationToken: token } });
      const body = await response.json().catch(() => ({}));
      if (!response.ok || !body.url) {
        throw new Error(body.detail || body.title || `The billing portal could not be opened (HTTP ${response.status}).`);
      }
      location.href = body.url;
    } catch (e) {
      error.textContent = e instanceof TypeError ? 'The server could not be reached. Try again.' : e.message;
      error.hidden = false;
      button.disabled = false;
    }
  });
})();

// The changes table: OnSubscriptionChange runs once the webhook has committed, usually a moment after a plan change,
// cancel or resume has brought the user back here, so the table asks for itself again while shown: every 2 s for a
// minute after the page loads or the table changes, then every 15 s.
(() => {
  const section = document.getElementById('subscription-changes-section');
  if (!section) {
    return;
  }

  let shown = section.innerHTML;
  let lastChange = Date.now();
  async function refresh() {
    if (document.visibilityState === 'visible') {
      try {
        const response = await fetch(section.dataset.refresh, { headers: { Accept: 'text/html' }, redirect: 'error' });
        // Only the table itself: a redirect (signed out meanwhile) or an error page never replaces it.
        if (response.ok && response.headers.get('content-type')?.startsWith('text/html')) {
          const html = await response.text();
          if (html !== shown) {
            section.innerHTML = html;
            shown = html;
            lastChange = Date.now();
          }
        }
      } catch {
        // Offline for a moment: the next round tries again.
      }
    }

    setTimeout(refresh, Date.now() - lastChange < 60000 ? 2000 : 15000);
  }

  setTimeout(refresh, 2000);
})();

// Billing history: an order's invoice through KavachPolar's POST /api/kavach/auth/polar/orders/{id}/invoice, which answers
// for the signed-in user's own orders only (404 for anyone else's). Polar makes an invoice in the background the first time
// it is asked for: 202 with Retry-After while it does, then 200 {"url"}. The button turns into a link to the invoice.
(() => {
  const attempts = 15;

  function wait(seconds) {
    return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }

  async function invoice(button) {
    const error = button.parentElement.querySelector('[data-testid=order-invoice-error]');
    button.disabled = true;
    button.textContent = 'Preparing invoice…';
    error.hidden = true;
    try {
      for (let attempt = 0; attempt < attempts; attempt++) {
        const response = await fetch(`/api/kavach/auth/polar/orders/${encodeURIComponent(button.dataset.invoice)}/invoice`, { method: 'POST' });
        if (response.status === 202) {
          const retryAfter = Number(response.headers.get('Retry-After'));
          await wait(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 10) : 2);
          continue;
        }

        const body = await response.json().catch(() => ({}));
        if (!response.ok || !body.url) {
          throw new Error(body.detail || body.title || `The invoice could not be read (HTTP ${response.status}).`);
        }

        const link = document.createElement('a');
        link.href = body.url;
        link.target = '_blank';
        link.rel = 'noopener';
        link.textContent = 'Invoice';
        link.dataset.testid = 'order-invoice-link';
        button.replaceWith(link);
        return;
      }

      throw new Error('Polar is still making the invoice. Try again in a minute.');
    } catch (e) {
      error.textContent = e instanceof TypeError ? 'The server could not be reached. Try again.' : e.message;
      error.hidden = false;
      button.disabled = false;
      button.textContent = 'Get invoice';
    }
  }

  document.querySelectorAll('[data-invoice]').forEach((button) => {
    button.addEventListener('click', () => invoice(button));
  });
})();
