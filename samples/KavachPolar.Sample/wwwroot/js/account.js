// Manage billing: ask KavachPolar for a Polar customer portal session for the signed-in user, then open it.
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
      const response = await fetch('/api/kavach/auth/polar/portal', { method: 'POST' });
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
