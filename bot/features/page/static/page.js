// The server writes each time in UTC (datetime attribute) with the meeting's zone as text;
// here it is rewritten in the reader's own zone and locale. Without JavaScript the text stays.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var at = new Date(el.getAttribute("datetime"));
    if (isNaN(at.getTime())) return;
    el.title = el.textContent;
    el.textContent = format.format(at);
  });
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var note = document.getElementById("zone-note");
  if (note && zone) note.textContent = "Times are shown in your time zone, " + zone + ".";
})();
