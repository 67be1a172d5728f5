/* Braintree Drop-in on the add-card page (sandbox/production only): tokenises the card in
   Braintree's own fields and posts the one-time nonce as payment_method_nonce. No inline
   script: the client token comes from the container's data-client-token attribute. */
(function () {
  "use strict";
  function start() {
    var container = document.getElementById("dropin-container");
    if (!container || !window.braintree || !window.braintree.dropin) { return; }
    var form = container.closest("form");
    var nonceInput = form.querySelector("input[name=payment_method_nonce]");
    window.braintree.dropin.create({
      authorization: container.getAttribute("data-client-token"),
      container: container
    }, function (createError, instance) {
      if (createError) { container.textContent = createError.message; return; }
      form.addEventListener("submit", function (event) {
        if (nonceInput.value) { return; }
        event.preventDefault();
        instance.requestPaymentMethod(function (error, payload) {
          if (error) { return; } /* Drop-in shows what is wrong next to its fields */
          nonceInput.value = payload.nonce;
          form.submit();
        });
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
