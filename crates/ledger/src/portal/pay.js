// The pay page's script (served as /portal/pay.js; the page has no inline
// script). Stripe.js draws the card field; paid, declined or given up, the
// browser goes to the return page, where the ledger asks Stripe what
// became of the payment: nothing here is believed.
"use strict";
(function () {
  const form = document.getElementById("pay");
  const problem = document.getElementById("problem");
  const stripe = Stripe(form.dataset.key);
  const card = stripe.elements().create("card");
  card.mount("#card");
  const back = () => window.location.assign(form.dataset.return);
  const outcome = (result) => {
    // A card number not yet complete: the parent can fix it here.
    if (result.error && result.error.type === "validation_error") {
      problem.textContent = result.error.message;
      problem.hidden = false;
      return;
    }
    back();
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    outcome(await stripe.confirmCardPayment(form.dataset.secret, {
      payment_method: { card: card },
    }));
  });
  const mobilepay = document.getElementById("mobilepay");
  if (mobilepay) {
    // MobilePay's app pays, then Stripe sends the browser to the return page.
    mobilepay.addEventListener("click", async () => {
      outcome(await stripe.confirmMobilepayPayment(form.dataset.secret, {
        return_url: new URL(form.dataset.return, window.location.href).href,
      }));
    });
  }
})();
