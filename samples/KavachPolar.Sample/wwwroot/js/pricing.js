// Subscribe: ask KavachPolar for a Polar checkout for the signed-in user, then open it.
(() => {
  const error = document.getElementById('checkout-error');

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
    error.focus?.();
  }

  // KavachPolar answers with RFC 9457 problem details; Polar's validation errors come as errors[].
  function describeProblem(body, status) {
    const details = Array.isArray(body.errors) ? body.errors.map((e) => e.message).filter(Boolean) : [];
    const summary = body.detail || body.title || `Checkout failed (HTTP ${status}).`;
    return details.length ? `${summary} ${details.join(' ')}` : summary;
  }

  async function subscribe(button) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = 'Opening checkout…';
    error.hidden = true;
    try {
      const response = await fetch('/api/kavach/auth/polar/checkout', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          productId: button.dataset.subscribe,
          successUrl: '/billing/success?checkout_id={CHECKOUT_ID}',
        }),
      });
      if (response.status === 401) {
        location.href = '/signin?returnUrl=%2Fpricing';
        return;
      }
      const body = await response.json().catch(() => ({}));
      if (!response.ok || !body.url) {
        throw new Error(describeProblem(body, response.status));
      }
      location.href = body.url;
    } catch (e) {
      showError(e instanceof TypeError ? 'The server could not be reached. Try again.' : e.message);
      button.disabled = false;
      button.textContent = label;
    }
  }

  document.querySelectorAll('[data-subscribe]').forEach((button) => {
    button.addEventListener('click', () => subscribe(button));
  });
})();
