// idverify console: a little progressive enhancement. Every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The Lead's fields show only when the caller is a new customer.
  var box = document.getElementById("new_customer");
  var lead = document.getElementById("lead");
  if (box && lead) {
    var sync = function () { lead.hidden = !box.checked; };
    box.addEventListener("change", sync);
    sync();
  }
  // "Doesn't know" empties and disables the answer beside it.
  document.querySelectorAll("input[name^='dk_']").forEach(function (dk) {
    var answer = document.querySelector("input[name='v_" + dk.name.slice(3) + "']");
    if (!answer) { return; }
    dk.addEventListener("change", function () {
      answer.disabled = dk.checked;
      if (dk.checked) { answer.value = ""; }
    });
  });
  // A form is sent once: a second click while the step runs would act on a stale version.
  document.querySelectorAll("form[method='post']").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type='submit']").forEach(function (b) { b.disabled = true; });
    });
  });
});
