// The save-card page's script (served as /portal/save-card.js; the page
// has no inline script). Stripe.js draws the card field and confirms the
// SetupIntent (3-D Secure if the bank asks); saved or not, the browser
// goes to the return page, where the ledger asks Stripe whether a card
// was saved: nothing here is believed.
"use strict";
(function () {
  const form = document.getElementById("save-card");
  const problem = document.getElementById("problem");
  const stripe = Stripe(form.dataset.key);
  const card = stripe.elements().create("card");
  card.mount("#card");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await stripe.confirmCardSetup(form.dataset.secret, {
      payment_method: { card: card },
    });
    // A card number not yet complete: the parent can fix it here.
    if (result.error && result.error.type === "validation_error") {
      problem.textContent = result.error.message;
      problem.hidden = false;
      return;
    }
    window.location.assign(form.dataset.return);
  });
})();
