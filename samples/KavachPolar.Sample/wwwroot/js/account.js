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
