// csirtlink console: live updates over Server-Sent Events, and small comforts. Every
// screen works without this file; it only saves reloading.
(function () {
  'use strict';

  // The browser's time zone, so that pages show times where the person is. The
  // server reads it only when the person chose no zone.
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf('csl_tz=' + tz) < 0) {
      document.cookie = 'csl_tz=' + encodeURIComponent(tz) + '; path=/; max-age=31536000; samesite=lax' +
        (location.protocol === 'https:' ? '; secure' : '');
    }
  } catch (e) { /* no Intl: the team's zone is used */ }

  // Recipients only mean something for AMBER+STRICT and RED: show them only then.
  function syncRecipients(select) {
    var set = document.getElementById(select.getAttribute('data-recipients'));
    if (!set) { return; }
    var v = select.value;
    set.hidden = !(v === 'AMBER+STRICT' || v === 'RED') && !set.querySelector('input:checked');
  }
  Array.prototype.forEach.call(document.querySelectorAll('select.tlp-select'), function (s) {
    syncRecipients(s);
    s.addEventListener('change', function () { syncRecipients(s); });
  });

  // "All partners" and single partners: ticking "all" ticks every partner; unticking
  // a partner unticks "all". Without this script the server reads "all" alone.
  Array.prototype.forEach.call(document.querySelectorAll('input.to-all'), function (all) {
    var set = all.closest('fieldset');
    if (!set) { return; }
    var others = Array.prototype.filter.call(set.querySelectorAll('input[name="to"]'), function (b) { return b !== all; });
    all.addEventListener('change', function () {
      others.forEach(function (b) { b.checked = all.checked; });
    });
    others.forEach(function (b) {
      b.addEventListener('change', function () { if (!b.checked) { all.checked = false; } });
    });
  });

  var scope = document.body.getAttribute('data-live-scope');
  if (!scope || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var indicator = document.getElementById('live');
  // showLive shows the stream's state: 'up', 'down' (reconnecting) or 'paused'.
  function showLive(state) {
    if (!indicator) { return; }
    indicator.hidden = false;
    indicator.textContent = indicator.getAttribute('data-text-' + state);
    indicator.className = 'live ' + (state === 'up' ? 'live-on' : 'live-off');
  }

  var timer = null, busy = false, again = false, fetched = Date.now();
  // refresh fetches this page again and swaps every region marked data-live. Forms
  // live outside those regions, so nothing a person is typing is lost. A quiet
  // refresh (the clock's, below) does not flash what changed, and does not count as
  // the person's activity: a screen left open still signs out when idle.
  function refresh(quiet) {
    if (busy) { again = true; return; }
    busy = true;
    fetched = Date.now();
    var headers = { 'Accept': 'text/html' };
    if (quiet === true) { headers['X-CSL-Tick'] = '1'; }
    fetch(location.href, { credentials: 'same-origin', headers: headers })
      .then(function (r) {
        // Signed out (idle too long, or elsewhere): show the sign-in screen rather
        // than leave stale times and pages on the screen.
        if (r.redirected && /\/signin$/.test(new URL(r.url).pathname)) { location.reload(); }
        if (!r.ok || r.redirected) { throw new Error('status ' + r.status); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        // The title counts pages waiting for us, for a tab in the background.
        if (doc.title && doc.title !== document.title) { document.title = doc.title; }
        Array.prototype.forEach.call(document.querySelectorAll('[data-live]'), function (el) {
          var name = el.getAttribute('data-live');
          var fresh = doc.querySelector('[data-live="' + name + '"]');
          if (fresh && fresh.innerHTML !== el.innerHTML) {
            el.innerHTML = fresh.innerHTML;
            if (quiet === true) { return; }
            el.classList.remove('updated');
            void el.offsetWidth;
            el.classList.add('updated');
          }
        });
      })
      .catch(function () { /* the next event or a reload will do */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  // wants says whether a change concerns this page: "all" takes every change, "pages"
  // every hotline page, "incident:<id>" or "page:<id>" one object. Every page shows
  // the count of pages waiting for us in its navigation, so a page change refreshes
  // that too.
  function wants(kind, id) {
    if (scope === 'all' || scope === kind + 's' || scope === kind + ':' + id) { return true; }
    return kind === 'page' && document.querySelector('[data-live="nav-pages"]') !== null;
  }
  var es = null;
  function connect() {
    es = new EventSource('/events');
    es.onopen = function () { showLive('up'); };
    es.onerror = function () { if (es) { showLive('down'); } };
    ['incident', 'page'].forEach(function (kind) {
      es.addEventListener(kind, function (ev) {
        if (!wants(kind, ev.data)) { return; }
        clearTimeout(timer);
        timer = setTimeout(refresh, 200);
      });
    });
    // The server caps a person's streams and closes the oldest for a newer tab: this
    // tab then stops reconnecting (which would close another) until it is looked at.
    es.addEventListener('closed', function () {
      es.close();
      es = null;
      showLive('paused');
    });
  }
  connect();
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && es === null) {
      connect();
      refresh(true);
    }
  });
  window.addEventListener('pagehide', function () { if (es) { es.close(); } });

  // The server words every time on the screen ("waiting 12 min", "3 minutes ago") in
  // the person's language when it draws the page. So that they keep counting, a page
  // with live regions is fetched again quietly each minute while it is in view, and at
  // once when it comes back into view after longer. (Tests shorten the minute with
  // window.cslTickMs.)
  if (!document.querySelector('[data-live]:not([data-live="nav-pages"])')) { return; }
  var minute = window.cslTickMs > 0 ? window.cslTickMs : 60000;
  setInterval(function () {
    if (!document.hidden) { refresh(true); }
  }, minute);
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && Date.now() - fetched >= minute) { refresh(true); }
  });
}());
