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
  // Sign-in in another site's frame (Salesforce's login page refuses frames): the button
  // opens a pop-up; the pop-up's last page hands this frame a ticket, which the frame posts
  // to the console. Only the window this frame opened, on the console's origin, is heard.
  var signin = document.getElementById("popup-signin");
  var ticketForm = document.getElementById("ticket-form");
  if (signin && ticketForm) {
    var popup = null;
    signin.addEventListener("click", function (ev) {
      ev.preventDefault();
      popup = window.open(signin.href, "idverify-signin", "popup,width=560,height=720");
      document.getElementById("popup-blocked").hidden = popup !== null;
    });
    window.addEventListener("message", function (ev) {
      if (ev.origin !== window.location.origin || popup === null || ev.source !== popup ||
          !ev.data || typeof ev.data.idverifyTicket !== "string") { return; }
      popup.postMessage({ idverifyReceived: true }, window.location.origin);
      ticketForm.elements.ticket.value = ev.data.idverifyTicket;
      ticketForm.submit();
    });
  }
  // The pop-up's last page: the ticket to the frame that opened it, on the console's origin
  // only; it closes when the frame says it has it. A message to another origin, or to a page
  // that is no longer the one that opened the pop-up, goes nowhere, and nothing says so: the
  // pop-up then tells the agent, rather than close on a sign-in that went nowhere.
  var handoff = document.getElementById("handoff");
  if (handoff) {
    var lost = function () { document.getElementById("handoff-lost").hidden = false; };
    if (window.opener) {
      window.addEventListener("message", function (ev) {
        if (ev.origin === window.location.origin && ev.source === window.opener && ev.data && ev.data.idverifyReceived === true) {
          window.close();
        }
      });
      window.opener.postMessage({ idverifyTicket: handoff.dataset.ticket }, window.location.origin);
      window.setTimeout(lost, 3000);
    } else {
      lost();
    }
  }
});
